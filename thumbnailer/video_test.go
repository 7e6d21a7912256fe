package thumbnailer

import (
	"context"
	"errors"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/maniwani/maniwani"
)

// A video's thumbnail is its first frame: these are red for half a second,
// then blue.
func TestVideoFirstFrame(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	dir := t.TempDir()
	red := color.NRGBA{255, 0, 0, 255}
	for _, c := range []struct {
		name  string
		codec []string
		w, h  int
	}{
		{"clip.webm", []string{"-c:v", "libvpx", "-b:v", "200k"}, 320, 240},
		{"clip.mp4", []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}, 640, 360},
		{"hd.mp4", []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}, 1280, 720}, // shrunk as it comes
		{"small.webm", []string{"-c:v", "libvpx", "-b:v", "100k"}, 160, 120},                              // smaller than a thumbnail
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			size := strconv.Itoa(c.w) + "x" + strconv.Itoa(c.h)
			args := []string{"-nostdin", "-v", "error", "-y",
				"-f", "lavfi", "-i", "color=c=red:s=" + size + ":d=0.5:r=10",
				"-f", "lavfi", "-i", "color=c=blue:s=" + size + ":d=0.5:r=10",
				"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"}
			runTool(t, ffmpeg, append(append(args, c.codec...), path)...)
			m := mustMake(t, path, c.w, c.h, Options{FFmpeg: ffmpeg})
			tw, th := maniwani.ThumbSize(c.w, c.h)
			if !near(m, tw/2, th/2, red, 30) {
				t.Errorf("thumbnail is %v at its centre, want the first frame's red", colorAt(m, tw/2, th/2))
			}
		})
	}
}

func TestVideoErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.webm")
	os.WriteFile(bad, []byte("this is no video at all, only words"), 0o644)

	// No ffmpeg: unavailable, and exec.ErrNotFound, by name or by path.
	for _, bin := range []string{"maniwani-no-such-ffmpeg", filepath.Join(dir, "no", "ffmpeg")} {
		_, err := Make(context.Background(), bad, ".webm", Options{FFmpeg: bin})
		if !errors.Is(err, exec.ErrNotFound) || maniwani.ErrorKind(err) != maniwani.KindUnavailable {
			t.Errorf("ffmpeg %q: %v, want exec.ErrNotFound and KindUnavailable", bin, err)
		}
	}

	ffmpeg := needTool(t, "ffmpeg")
	// Not a video, or not the container its name says: invalid.
	png := writeFile(t, dir, "image.png", scene(300, 200))
	mp4 := filepath.Join(dir, "image.mp4")
	data, _ := os.ReadFile(png)
	os.WriteFile(mp4, data, 0o644)
	for _, p := range []string{bad, mp4} {
		_, err := Make(context.Background(), p, filepath.Ext(p), Options{FFmpeg: ffmpeg})
		if err == nil || maniwani.ErrorKind(err) != maniwani.KindInvalid {
			t.Errorf("%s: %v, want KindInvalid", filepath.Base(p), err)
		}
	}
	// A path that looks like an option or a protocol is still a path.
	odd := filepath.Join(dir, "-i")
	os.WriteFile(odd, []byte("junk"), 0o644)
	if _, err := Make(context.Background(), odd, ".webm", Options{FFmpeg: ffmpeg}); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("file named -i: %v, want KindInvalid", err)
	}
}
