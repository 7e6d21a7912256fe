package maniwani

import (
	"context"
	"io"
	"time"
)

// FileStore keeps blobs by key: the bytes of posts' files and thumbnails.
// media/disk and media/s3 implement it; media/storetest is the contract both
// pass. Keys are slash-separated paths of [a-z0-9._-] segments.
type FileStore interface {
	// Put stores size bytes read from r under key, replacing what was
	// there. Readers see the old blob or the whole new one, never a part;
	// a Put that fails leaves no blob behind.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open opens the blob at key for reading and seeking (Range requests);
	// a missing key is a KindNotFound error.
	Open(ctx context.Context, key string) (Blob, error)
	// Stat tells the size and time of the blob at key; a missing key is a
	// KindNotFound error.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes the blob at key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Blob is an open blob of a FileStore.
type Blob interface {
	io.ReadSeekCloser
	Info() BlobInfo
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Size    int64
	ModTime time.Time
}

// FileRef names a post's file: where the media host serves it
// (/media/{Board}/{Tim}{Ext}) and the bytes it is (SHA256, hex).
type FileRef struct {
	Board  string
	Tim    int64
	SHA256 string
	Ext    string
}

// Media stores posts' files once per content and serves them under their
// names (which FileNames resolves). media.Service implements it in one
// process; its client does over HTTP when media runs apart.
type Media interface {
	// Save stores the size bytes of r, whose SHA-256 is f.SHA256. Bytes
	// already stored are not stored again. f.Tim is not used: the name is
	// the post's, made when the post is committed.
	Save(ctx context.Context, f FileRef, r io.Reader, size int64) error
	// Remove forgets the name of f (a post was deleted); when last is true
	// (no other post uses the bytes) the bytes and their thumbnail go too.
	Remove(ctx context.Context, f FileRef, last bool) error
	// Original opens the stored bytes of f.
	Original(ctx context.Context, f FileRef) (Blob, error)
	// Stat tells the size and time of the stored bytes of f without
	// reading them; bytes not stored are a KindNotFound error.
	Stat(ctx context.Context, f FileRef) (BlobInfo, error)
	// HasThumb tells whether the thumbnail of f's bytes exists.
	HasThumb(ctx context.Context, f FileRef) (bool, error)
	// SaveThumb stores the JPEG thumbnail of f's bytes.
	SaveThumb(ctx context.Context, f FileRef, r io.Reader, size int64) error
}

// FileNames tells which bytes a board's file name stands for: the api
// knows, as the files of its posts. Media asks it to serve
// /media/{board}/{tim}{ext}, so a name exists exactly while its post does.
type FileNames interface {
	// FileByName finds the file named tim on board; KindNotFound when no
	// post has it.
	FileByName(ctx context.Context, board string, tim int64) (FileRef, error)
}

// ThumbMax is the longest side of a thumbnail, in pixels.
const ThumbMax = 250

// ThumbSize is the size of the thumbnail of a w x h image: the image fitted
// into ThumbMax x ThumbMax keeping its aspect, or its own size when it
// already fits. The api announces it (tn_w, tn_h) before the thumbnailer
// makes the thumbnail, so both use this one function.
func ThumbSize(w, h int) (int, int) {
	if w <= 0 || h <= 0 {
		return 0, 0
	}
	if w <= ThumbMax && h <= ThumbMax {
		return w, h
	}
	if w >= h {
		return ThumbMax, max(1, int(float64(h)*ThumbMax/float64(w)))
	}
	return max(1, int(float64(w)*ThumbMax/float64(h))), ThumbMax
}

// The bus queues between the api and the thumbnailer. Jobs are
// pb.ThumbnailJob, results pb.ThumbnailResult, each protobuf-encoded.
const (
	ThumbnailQueue   = "thumbnails"
	ThumbnailResults = "thumbnail-results"
)
