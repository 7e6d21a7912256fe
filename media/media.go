// Package media stores posts' files once per content in a FileStore and
// serves them under their public names, laid out as 4chan's file host:
// GET /media/{board}/{tim}{ext} and its thumbnail /media/{board}/{tim}s.jpg.
//
// Keys in the store:
//
//	src/{sha[0:2]}/{sha}{ext}   the original bytes, once per content
//	thumb/{sha[0:2]}/{sha}.jpg  their thumbnail
//
// Which bytes a name serves is the api's to know (maniwani.FileNames): a
// name exists exactly while its post does.
package media

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
	"github.com/maniwani/maniwani/internal/tracing"
)

// Config configures a Service.
type Config struct {
	Logger *slog.Logger // nil: discard
	// NameCacheSize bounds the in-memory cache of resolved names; 0 means
	// DefaultNameCacheSize.
	NameCacheSize int
	// NameTTL is how long a resolved name is served without asking Names
	// again; 0 means DefaultNameTTL.
	NameTTL time.Duration
}

// Deps are what the media service works with; both are required.
type Deps struct {
	// Store holds the bytes: local disk or S3.
	Store maniwani.FileStore
	// Names resolves /media/{board}/{tim}: the api, or its client.
	Names maniwani.FileNames
}

// DefaultNameCacheSize is the number of resolved names kept in memory: a
// board page's worth of files many times over, at about 100 bytes each.
const DefaultNameCacheSize = 16384

// DefaultNameTTL bounds how long an instance that did not see a post's
// deletion serves its file's name.
const DefaultNameTTL = time.Minute

// Service implements maniwani.Media and serves /media/ over HTTP.
type Service struct {
	store  maniwani.FileStore
	lookup maniwani.FileNames
	log    *slog.Logger
	// names are resolved names, "{board}/{tim}" -> "{sha}{ext}": a name
	// never changes which bytes it serves, so only positives are kept, each
	// for nameTTL; that bounds how long another instance, whose Remove did
	// not reach this one, serves the name of a deleted post.
	names   *lru.Cache[string]
	nameTTL time.Duration
}

var _ maniwani.Media = (*Service)(nil)

// New makes a Service over deps.Store and deps.Names.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Names == nil {
		return nil, errors.New("media: Deps.Store and Deps.Names are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NameCacheSize <= 0 {
		cfg.NameCacheSize = DefaultNameCacheSize
	}
	if cfg.NameTTL <= 0 {
		cfg.NameTTL = DefaultNameTTL
	}
	return &Service{store: deps.Store, lookup: deps.Names, log: cfg.Logger,
		names: lru.New[string](cfg.NameCacheSize), nameTTL: cfg.NameTTL}, nil
}

// Run returns when ctx ends: the service does nothing in the background
// (requests are served by Handler).
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Save stores the bytes of f unless they are stored already (f.Board and
// f.Tim are not used). The bytes are hashed as they stream; when they are
// not f.SHA256 the Put fails and nothing is stored, so a src key always
// names its own content.
func (s *Service) Save(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	ctx, span := tracing.Start(ctx, "media.Save", trace.WithAttributes(tracing.Board.String(f.Board),
		attribute.Int64("maniwani.file.size", size)))
	defer span.End()
	if err := checkRef(f); err != nil {
		return err
	}
	src := srcKey(f.SHA256, f.Ext)
	_, err := s.store.Stat(ctx, src)
	if err == nil || maniwani.ErrorKind(err) != maniwani.KindNotFound {
		return err
	}
	v := &verifier{r: r, h: sha256.New(), size: size, want: f.SHA256}
	if size == 0 {
		// No store reads an empty body, so check its sum here.
		if err := v.check(nil); err != nil {
			return err
		}
	}
	return s.store.Put(ctx, src, v, size)
}

// Remove forgets the name of f here, then, when last, deletes its bytes and
// thumbnail. Whether this is the last use is the caller's to know (the api
// decides it in the transaction that deletes the post).
func (s *Service) Remove(ctx context.Context, f maniwani.FileRef, last bool) error {
	if err := checkRef(f); err != nil {
		return err
	}
	s.names.Remove(cacheKey(f.Board, f.Tim))
	if !last {
		return nil
	}
	return errors.Join(
		s.store.Delete(ctx, srcKey(f.SHA256, f.Ext)),
		s.store.Delete(ctx, thumbKey(f.SHA256)),
	)
}

// Original opens the stored bytes of f (by f.SHA256 and f.Ext). Reads use
// ctx, so it must outlive the Blob's use.
func (s *Service) Original(ctx context.Context, f maniwani.FileRef) (maniwani.Blob, error) {
	if err := checkRef(f); err != nil {
		return nil, err
	}
	return s.store.Open(ctx, srcKey(f.SHA256, f.Ext))
}

// Stat tells the size and time of the stored bytes of f (by f.SHA256 and
// f.Ext) from the store's Stat, which reads none of them.
func (s *Service) Stat(ctx context.Context, f maniwani.FileRef) (maniwani.BlobInfo, error) {
	if err := checkRef(f); err != nil {
		return maniwani.BlobInfo{}, err
	}
	return s.store.Stat(ctx, srcKey(f.SHA256, f.Ext))
}

// HasThumb tells whether the thumbnail of f's bytes exists.
func (s *Service) HasThumb(ctx context.Context, f maniwani.FileRef) (bool, error) {
	if err := checkSHA(f.SHA256); err != nil {
		return false, err
	}
	_, err := s.store.Stat(ctx, thumbKey(f.SHA256))
	switch {
	case err == nil:
		return true, nil
	case maniwani.ErrorKind(err) == maniwani.KindNotFound:
		return false, nil
	}
	return false, err
}

// SaveThumb stores the JPEG thumbnail of f's bytes (f.SHA256 and f.Ext);
// when the bytes are gone meanwhile it keeps nothing and answers
// KindNotFound.
func (s *Service) SaveThumb(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	ctx, span := tracing.Start(ctx, "media.SaveThumb", trace.WithAttributes(tracing.Board.String(f.Board)))
	defer span.End()
	if err := checkSHA(f.SHA256); err != nil {
		return err
	}
	if err := s.store.Put(ctx, thumbKey(f.SHA256), r, size); err != nil {
		return err
	}
	// The last post with these bytes may have gone while the thumbnail
	// was made; Remove deletes the bytes before the thumbnail, so either
	// its delete comes after this Put, or the bytes are seen gone here.
	if f.Ext == "" || checkExt(f.Ext) != nil {
		return nil // the bytes are not named: nothing to check against
	}
	if _, err := s.store.Stat(ctx, srcKey(f.SHA256, f.Ext)); maniwani.ErrorKind(err) == maniwani.KindNotFound {
		s.store.Delete(ctx, thumbKey(f.SHA256))
		return maniwani.Errorf(maniwani.KindNotFound, "The file is gone; its thumbnail was not kept.")
	}
	return nil
}

// resolve finds which bytes the name board/tim serves: their sha and ext.
func (s *Service) resolve(ctx context.Context, board string, tim int64) (sha, ext string, err error) {
	key := cacheKey(board, tim)
	if val, ok := s.names.Get(key, time.Now()); ok {
		return val[:64], val[64:], nil
	}
	f, err := s.lookup.FileByName(ctx, board, tim)
	if err != nil {
		return "", "", err
	}
	if checkRef(f) != nil {
		return "", "", fmt.Errorf("media: /%s/%d resolved to SHA-256 %q, ext %q", board, tim, f.SHA256, f.Ext)
	}
	// Served for nameTTL, its last instant included.
	s.names.Put(key, f.SHA256+f.Ext, time.Now().Add(s.nameTTL+time.Nanosecond))
	return f.SHA256, f.Ext, nil
}

func cacheKey(board string, tim int64) string { return board + "/" + strconv.FormatInt(tim, 10) }

func srcKey(sha, ext string) string { return "src/" + sha[:2] + "/" + sha + ext }
func thumbKey(sha string) string    { return "thumb/" + sha[:2] + "/" + sha + ".jpg" }

// checkRef checks the parts of f that make keys.
func checkRef(f maniwani.FileRef) error {
	if err := checkSHA(f.SHA256); err != nil {
		return err
	}
	return checkExt(f.Ext)
}

func checkSHA(sha string) error {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return maniwani.Errorf(maniwani.KindInvalid, "invalid SHA-256 %q (want 64 lowercase hex digits)", sha)
	}
	return nil
}

// checkExt wants the extension as served: a dot and 1-15 lowercase letters
// or digits. Upper case is refused rather than folded so that the URL the api
// builds from f.Ext is the one that resolves.
func checkExt(ext string) error {
	if len(ext) < 2 || len(ext) > 16 || ext[0] != '.' || !lowerAlnum(ext[1:]) {
		return maniwani.Errorf(maniwani.KindInvalid, "invalid file extension %q (want a dot and lowercase letters or digits)", ext)
	}
	return nil
}

func validBoard(b string) bool { return len(b) >= 1 && len(b) <= 16 && lowerAlnum(b) }

func lowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// verifier hashes what a store reads from r and fails the read that
// completes size bytes when the sum is not want. Failing that read itself,
// rather than a later one, matters: a store that reads exactly size bytes
// (io.ReadFull, io.LimitReader) never asks for more.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	want string
	err  error // sticky once the sum is wrong
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	rest := v.size - v.n
	if rest == 0 {
		return 0, v.check(io.EOF)
	}
	if int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n == v.size {
		if err := v.check(nil); err != nil {
			return 0, err
		}
	}
	return n, err
}

// check returns ok when the bytes hashed so far are the ones wanted.
func (v *verifier) check(ok error) error {
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		v.err = maniwani.Errorf(maniwani.KindInvalid, "file bytes have SHA-256 %s, not %s", got, v.want)
		return v.err
	}
	return ok
}

// contentTypes are the types files are served as; anything else is
// application/octet-stream, which nosniff keeps a download.
var contentTypes = map[string]string{
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".gif":  "image/gif",
	".webp": "image/webp",
	".webm": "video/webm",
	".mp4":  "video/mp4",
}

//go:embed placeholder.svg
var placeholderSVG []byte

// ServeHTTP serves GET and HEAD /media/{board}/{tim}{ext} (the file) and
// /media/{board}/{tim}s.jpg (its thumbnail). It expects the full path, not
// one with /media stripped.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, InternalPrefix) {
		s.serveInternal(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	// A file is never a page: no scripts, no plugins, no same-origin access
	// even when opened directly (an SVG, an HTML file named .jpg).
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		s.fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	board, tim, ext, thumb, ok := parsePath(r.URL.Path)
	if !ok {
		s.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	ctx := r.Context()
	sha, stored, err := s.resolve(ctx, board, tim)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	key, etag, ctype := thumbKey(sha), `"`+sha+`s"`, "image/jpeg"
	if !thumb {
		if ext != stored {
			s.fail(w, http.StatusNotFound, "Not found.")
			return
		}
		key, etag, ctype = srcKey(sha, stored), `"`+sha+`"`, contentTypes[stored]
		if ctype == "" {
			ctype = "application/octet-stream"
		}
	}
	b, err := s.store.Open(ctx, key)
	if thumb && maniwani.ErrorKind(err) == maniwani.KindNotFound {
		// Not made yet (or its job failed): a placeholder, not a broken
		// image, and nothing that a cache would keep past its making.
		h.Set("Content-Type", "image/svg+xml")
		h.Set("Content-Length", strconv.Itoa(len(placeholderSVG)))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		w.Write(placeholderSVG)
		return
	}
	if err != nil {
		if maniwani.ErrorKind(err) == maniwani.KindNotFound {
			// The bytes went with the last post using them; the name
			// may be cached here from before.
			s.names.Remove(cacheKey(board, tim))
		}
		s.storeError(w, r, err)
		return
	}
	defer b.Close()
	h.Set("Content-Type", ctype)
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", b.Info().ModTime, b)
}

// storeError answers for a failed store or name lookup and logs what is
// not the client's doing.
func (s *Service) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch maniwani.ErrorKind(err) {
	case maniwani.KindNotFound:
		s.fail(w, http.StatusNotFound, "Not found.")
	case maniwani.KindUnavailable:
		s.log.Error("media: unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		s.fail(w, http.StatusServiceUnavailable, "Unavailable; try again.")
	default:
		s.log.Error("media: serve", "path", r.URL.Path, "err", err)
		s.fail(w, http.StatusInternalServerError, "Internal error.")
	}
}

func (s *Service) fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// parsePath splits /media/{board}/{tim}{ext} or /media/{board}/{tim}s.jpg.
// tim must be in canonical decimal so that one file has one URL.
func parsePath(p string) (board string, tim int64, ext string, thumb, ok bool) {
	rest, found := strings.CutPrefix(p, "/media/")
	if !found {
		return
	}
	board, file, found := strings.Cut(rest, "/")
	if !found || !validBoard(board) {
		return
	}
	i := 0
	for i < len(file) && '0' <= file[i] && file[i] <= '9' {
		i++
	}
	digits, suffix := file[:i], file[i:]
	tim, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || strconv.FormatInt(tim, 10) != digits {
		return
	}
	if suffix == "s.jpg" {
		return board, tim, "", true, true
	}
	if checkExt(suffix) != nil {
		return
	}
	return board, tim, suffix, false, true
}
