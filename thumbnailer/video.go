package thumbnailer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
)

// videoTimeout bounds one ffmpeg run: a first frame takes well under a
// second, so anything longer is a file built to stall it.
const videoTimeout = 30 * time.Second

// videoFrame returns the first frame of the video at path, of kind ext
// (".webm" or ".mp4"), decoded by ffmpeg, and the frame's size: the image
// may be box-filtered already, as shrinkPNG does for a big image.
func videoFrame(ctx context.Context, path, ext, ffmpeg string) (image.Image, int, int, error) {
	if ffmpeg == "" {
		ffmpeg = "ffmpeg"
	}
	// The container is forced from ext and only local files may be opened,
	// so an upload cannot be a playlist that makes ffmpeg read other files
	// or the network. "file:" keeps a path starting with "-" or naming a
	// protocol a path. The frame comes out as an uncompressed PNG: cheap to
	// write and to read, and streamed through shrinkPNG.
	format := "matroska,webm"
	if ext == ".mp4" {
		format = "mov,mp4,m4a,3gp,3g2,mj2"
	}
	ctx, cancel := context.WithTimeout(ctx, videoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg,
		"-nostdin", "-hide_banner", "-v", "error",
		"-protocol_whitelist", "file", "-f", format, "-i", "file:"+path,
		"-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn",
		"-f", "image2pipe", "-c:v", "png", "-compression_level", "0", "-pix_fmt", "rgb24", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("thumbnailer: ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, exec.ErrNotFound) {
			err = fmt.Errorf("%w: %w", exec.ErrNotFound, err) // a path that is not there: missing all the same
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, 0, 0, &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "thumbnailer: ffmpeg is not installed", Err: err}
		}
		return nil, 0, 0, fmt.Errorf("thumbnailer: ffmpeg: %w", err)
	}
	m, w, h, decErr := decodeFrame(bufio.NewReaderSize(out, 64<<10))
	if decErr != nil {
		cmd.Process.Kill() // the rest of a frame we cannot use
	} else {
		io.Copy(io.Discard, out) // let ffmpeg finish before Wait closes the pipe
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, 0, 0, fmt.Errorf("thumbnailer: ffmpeg on %s: %w", ext, ctx.Err())
	}
	var kindErr *maniwani.Error
	switch {
	case errors.As(decErr, &kindErr):
		return nil, 0, 0, decErr
	case decErr != nil: // ffmpeg's stderr says why there was no frame
		return nil, 0, 0, invalid(fmt.Sprintf("thumbnailer: no first frame in the %s file: %s", ext, strings.TrimSpace(stderr.String())), decErr)
	case waitErr != nil:
		return nil, 0, 0, invalid(fmt.Sprintf("thumbnailer: ffmpeg failed on the %s file: %s", ext, strings.TrimSpace(stderr.String())), waitErr)
	}
	return m, w, h, nil
}

// decodeFrame decodes ffmpeg's PNG and tells its size, refusing frames over
// maxPixels before allocating them and box-filtering big ones as they come.
func decodeFrame(r io.Reader) (image.Image, int, int, error) {
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return nil, 0, 0, err
	}
	w, h := cfg.Width, cfg.Height
	if int64(w)*int64(h) > maxPixels {
		return nil, 0, 0, &maniwani.Error{Kind: maniwani.KindTooLarge,
			Message: fmt.Sprintf("thumbnailer: %dx%d video is over %d megapixels", w, h, maxPixels/1_000_000)}
	}
	r = io.MultiReader(&head, r)
	tw, th := maniwani.ThumbSize(w, h)
	var m image.Image
	if k := shrinkFactor(w, h, tw, th); k >= 2 {
		m, err = decodeSafely(func() (image.Image, error) { return shrinkPNG(r, k) })
	} else {
		m, err = png.Decode(r)
	}
	return m, w, h, err
}

// limitedWriter keeps the first n bytes written to it and drops the rest,
// so a chatty ffmpeg cannot grow memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
