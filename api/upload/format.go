package upload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/maniwani/maniwani"
)

// format is one type the site takes.
type format struct {
	ext, mime string
	name      string                                // as messages name it: "PNG"
	noun      string                                // "image" or "video"
	config    func(io.Reader) (image.Config, error) // an image's header; nil for videos
	walk      func(*scanner) (walked, error)        // the whole file's structure
}

// walked is what a walk through a file's structure learnt.
type walked struct {
	w, h   int    // a video's size, which no DecodeConfig reads
	drop   []span // metadata to cut (or bytes to replace, with put), in file order
	icc    []span // JPEG colour profile segments, kept through a re-encode
	orient int    // JPEG EXIF orientation, 1 to 8
}

// span is the bytes [start, end) of the file; put, when not nil, is
// written in their place, or zeros as many when zero is set.
type span struct {
	start, end int64
	put        []byte
	zero       bool
}

// The formats are values, not a table: nothing at package level can change.
func formatJPEG() *format {
	return &format{".jpg", "image/jpeg", "JPEG", "image", jpeg.DecodeConfig, walkJPEG}
}
func formatPNG() *format {
	return &format{".png", "image/png", "PNG", "image", png.DecodeConfig, walkPNG}
}
func formatGIF() *format {
	return &format{".gif", "image/gif", "GIF", "image", gif.DecodeConfig, walkGIF}
}
func formatWebP() *format {
	return &format{".webp", "image/webp", "WebP", "image", webp.DecodeConfig, walkWebP}
}
func formatWebM() *format { return &format{".webm", "video/webm", "WebM", "video", nil, walkWebM} }
func formatMP4() *format  { return &format{".mp4", "video/mp4", "MP4", "video", nil, walkMP4} }

// sniff tells the format of a file from its first bytes (up to 512), or nil
// for a type the site does not take. The name and the client's content type
// are never asked: they are whatever the client says.
func sniff(b []byte) *format {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return formatJPEG()
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG()
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return formatGIF()
	case len(b) >= 16 && string(b[:4]) == "RIFF" && string(b[8:15]) == "WEBPVP8":
		return formatWebP()
	case bytes.HasPrefix(b, []byte("\x1a\x45\xdf\xa3")) && ebmlDocType(b) == "webm":
		return formatWebM()
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && mp4Brand(b):
		return formatMP4()
	}
	return nil
}

// mp4Brand tells whether the ftyp box at the head of b names a brand of MP4
// video. QuickTime, audio-only and HEIF/AVIF still images share the box but
// are not what .mp4 promises.
func mp4Brand(b []byte) bool {
	size := int(binary.BigEndian.Uint32(b))
	if size < 16 || size > len(b) {
		return false
	}
	video := func(brand string) bool {
		switch brand {
		case "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso8", "iso9",
			"mp41", "mp42", "avc1", "M4V ", "dash", "mmp4":
			return true
		}
		return false
	}
	major := string(b[8:12])
	switch major {
	case "qt  ", "M4A ", "M4B ", "M4P ", "heic", "heix", "mif1", "msf1", "avif", "avis":
		return false
	}
	if video(major) {
		return true
	}
	for i := 16; i+4 <= size; i += 4 {
		if video(string(b[i : i+4])) {
			return true
		}
	}
	return false
}

// flaw is why a file is not wholly what it claims to be.
type flaw struct {
	why   string // completes the poster's message: "it is cut short or damaged"
	cause error  // the detail, for logs
}

func (f *flaw) Error() string { return f.why + ": " + f.cause.Error() }

const (
	whyDamaged     = "it is cut short or damaged"
	whyTrailing    = "it has data after its end"
	whyUnsupported = "it is of a kind this site cannot read"
	whyNoVideo     = "it has no video track"
	whyCodec       = "its video is not VP8, VP9 or AV1"
)

func damaged(format string, args ...any) error {
	return &flaw{whyDamaged, fmt.Errorf(format, args...)}
}

// configFlaw words an error of a DecodeConfig.
func configFlaw(err error) error {
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	if errors.As(err, &ju) || errors.As(err, &pu) {
		return &flaw{whyUnsupported, err}
	}
	return &flaw{whyDamaged, err}
}

// refuse turns a flaw into the poster's error; any other error (reading or
// writing the temporary files) is ours and passes as it is.
func (ft *format) refuse(err error) error {
	var fl *flaw
	if !errors.As(err, &fl) {
		return err
	}
	return &maniwani.Error{
		Kind:    maniwani.KindInvalid,
		Message: fmt.Sprintf("The file is not a valid %s %s (%s).", ft.name, ft.noun, fl.why),
		Err:     fl.cause,
	}
}
