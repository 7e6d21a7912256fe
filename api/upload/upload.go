// Package upload checks a posted file before the api stores it. The bytes go
// to a temporary file while they are hashed, never whole into memory; the type
// is decided from the bytes alone; the file's structure is walked so that what
// is stored is wholly the format it claims and nothing hides after it; JPEG
// metadata is cut out.
package upload

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maniwani/maniwani"
)

// DefaultTypes are the extensions a board takes when its Limits name none.
func DefaultTypes() []string {
	return []string{".jpg", ".png", ".gif", ".webp", ".webm", ".mp4"}
}

// Limits are what one board takes.
type Limits struct {
	MaxSize   int64    // bytes; a larger file is refused; 0 = maniwani.DefaultMaxFileSize
	MaxPixels int64    // width*height; 0 = maniwani.DefaultMaxPixels
	Types     []string // allowed extensions, e.g. ".jpg"; nil = DefaultTypes()
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = maniwani.DefaultMaxFileSize
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = maniwani.DefaultMaxPixels
	}
	if l.Types == nil {
		l.Types = DefaultTypes()
	}
	return l
}

func (l Limits) takes(ext string) bool {
	for _, t := range l.Types {
		if !strings.HasPrefix(t, ".") {
			t = "." + t
		}
		if strings.EqualFold(t, ext) || ext == ".jpg" && strings.EqualFold(t, ".jpeg") {
			return true
		}
	}
	return false
}

// File is an accepted upload, waiting in a temporary file to be stored.
type File struct {
	Path          string // the temporary file holding the bytes to store (after EXIF stripping)
	Size          int64
	SHA256        string // hex, of the stored bytes
	MD5           string // base64, 24 chars, of the stored bytes
	Ext           string // decided from the bytes: .jpg .png .gif .webp .webm .mp4
	ContentType   string
	Width, Height int
	Name          string // the cleaned original name, without extension ("cat" for `C:\fakepath\cat.png`)
}

// Remove deletes the temporary file; removing it twice is not an error.
func (f *File) Remove() error {
	if f == nil || f.Path == "" {
		return nil
	}
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Receive checks an upload wholly, its costly step included: Check, then
// Finish.
func Receive(r io.Reader, filename, dir string, lim Limits) (*File, error) {
	c, err := Check(r, filename, dir, lim)
	if err != nil {
		return nil, err
	}
	return c.Finish()
}

// Checked is an upload read and checked but for its one costly step: a
// JPEG turned by its EXIF orientation is decoded, turned and encoded again
// (seconds of CPU and hundreds of MB at the pixel limit). Finish does it,
// so that the caller can first decide whether the post is taken at all,
// and bound how many run at once.
type Checked struct {
	f    File
	ft   *format
	walk walked
}

// Check streams r (the multipart part) into a temporary file in dir, then
// checks it against lim: everything but what Finish does, in time and
// memory bounded by the file's size and its headers. The file is hashed
// once its bytes are final (here, or by Finish), not as it arrives: a file
// refused for its size or type costs no hashing. A refusal
// is an error of kind maniwani.KindInvalid (maniwani.KindTooLarge for the
// size) whose message a poster can read; an error reading r is returned
// wrapped, as it came. On any error nothing is left in dir; on success the
// caller calls Finish, or Remove.
func Check(r io.Reader, filename, dir string, lim Limits) (_ *Checked, err error) {
	lim = lim.withDefaults()
	tmp, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	c := &Checked{f: File{Path: tmp.Name(), Name: cleanName(filename)}}
	f := &c.f
	defer func() {
		tmp.Close()
		if err != nil {
			f.Remove()
		}
	}()
	out := &counter{w: tmp}
	limit := lim.MaxSize + 1
	if lim.MaxSize == math.MaxInt64 {
		limit = lim.MaxSize
	}
	if _, err := io.Copy(out, io.LimitReader(r, limit)); err != nil {
		if out.err != nil {
			return nil, fmt.Errorf("upload: writing %s: %w", f.Path, out.err)
		}
		return nil, fmt.Errorf("upload: reading the file: %w", err)
	}
	if out.n > lim.MaxSize {
		return nil, maniwani.Errorf(maniwani.KindTooLarge, "The file is larger than this board's limit of %s.", SizeText(lim.MaxSize))
	}
	if out.n == 0 {
		return nil, maniwani.Errorf(maniwani.KindInvalid, "The file is empty.")
	}
	f.Size = out.n

	head := make([]byte, 512)
	n, err := tmp.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("upload: %w", err)
	}
	ft := sniff(head[:n])
	if ft == nil {
		return nil, maniwani.Errorf(maniwani.KindInvalid, "The file's type is not one this board takes: it takes %s.", lim.typesText())
	}
	if !lim.takes(ft.ext) {
		return nil, maniwani.Errorf(maniwani.KindInvalid, "This board does not take %s files: it takes %s.", ft.name, lim.typesText())
	}
	f.Ext, f.ContentType = ft.ext, ft.mime

	// An image's size comes from its header before anything else reads it,
	// so a small file claiming a huge image costs nothing.
	if ft.config != nil {
		cfg, err := ft.config(bufio.NewReader(io.NewSectionReader(tmp, 0, f.Size)))
		if err != nil {
			return nil, ft.refuse(configFlaw(err))
		}
		f.Width, f.Height = cfg.Width, cfg.Height
		if err := checkPixels(ft, f.Width, f.Height, lim.MaxPixels); err != nil {
			return nil, err
		}
	}
	w, err := ft.walk(newScanner(tmp, f.Size))
	if err != nil {
		return nil, ft.refuse(err)
	}
	if ft.config == nil {
		f.Width, f.Height = w.w, w.h
		if err := checkPixels(ft, f.Width, f.Height, lim.MaxPixels); err != nil {
			return nil, err
		}
	}

	c.ft, c.walk = ft, w
	switch {
	case w.orient > 1: // Finish writes the bytes anew, and hashes them
	case len(w.drop) > 0: // a copy without the metadata, hashed as it is written: cheap
		old := f.Path
		if err := f.replace(func(out io.Writer) error { return copyWithout(out, tmp, f.Size, w.drop) }); err != nil {
			return nil, ft.refuse(err)
		}
		tmp.Close()
		os.Remove(old)
	default:
		sum := newSummer(io.Discard)
		if _, err := io.Copy(sum, io.NewSectionReader(tmp, 0, f.Size)); err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		sum.done(f)
	}
	return c, nil
}

// Decodes tells whether Finish decodes the image: the costly step.
func (c *Checked) Decodes() bool { return c.walk.orient > 1 }

// SHA256 is the hash (hex) of the bytes to store, known before Finish
// unless Finish writes them anew (Decodes): "" then.
func (c *Checked) SHA256() string { return c.f.SHA256 }

// Ext is the file's type, decided from its bytes: .jpg .png .gif .webp
// .webm .mp4.
func (c *Checked) Ext() string { return c.f.Ext }

// Finish does the upload's costly step, if it has one, and hands over its
// temporary file: the caller removes the File once its bytes are stored.
// On an error nothing is left. It is called once.
func (c *Checked) Finish() (_ *File, err error) {
	f := c.f
	c.f.Path = "" // the File owns it now, or it is gone
	if c.walk.orient <= 1 {
		return &f, nil
	}
	defer func() {
		if err != nil {
			f.Remove()
		}
	}()
	in, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	defer in.Close()
	old := f.Path
	err = f.replace(func(out io.Writer) (err error) {
		f.Width, f.Height, err = reorient(out, in, f.Size, c.walk)
		return err
	})
	if err != nil {
		return nil, c.ft.refuse(err)
	}
	os.Remove(old)
	return &f, nil
}

// Remove deletes the temporary file of an upload not finished; after
// Finish it does nothing.
func (c *Checked) Remove() error {
	if c == nil {
		return nil
	}
	return c.f.Remove()
}

// replace writes the bytes to store anew through write, into a new temporary
// file beside the old one; the caller removes the old one.
func (f *File) replace(write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "upload-*")
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum := newSummer(tmp)
	bw := bufio.NewWriter(sum)
	if err := write(bw); err != nil {
		if sum.err != nil {
			return fmt.Errorf("upload: writing %s: %w", tmp.Name(), sum.err)
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("upload: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("upload: writing %s: %w", tmp.Name(), err)
	}
	f.Path = tmp.Name()
	sum.done(f)
	return nil
}

// counter writes to a file and counts what it writes, keeping the file's
// own error apart from the reader's.
type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// summer writes to a file and hashes and counts what it writes, keeping
// the file's own error apart from the reader's.
type summer struct {
	w       io.Writer
	sha, md hash.Hash
	n       int64
	err     error
}

func newSummer(w io.Writer) *summer { return &summer{w: w, sha: sha256.New(), md: md5.New()} }

func (s *summer) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.sha.Write(p[:n])
	s.md.Write(p[:n])
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

func (s *summer) done(f *File) {
	f.Size = s.n
	f.SHA256 = hex.EncodeToString(s.sha.Sum(nil))
	f.MD5 = base64.StdEncoding.EncodeToString(s.md.Sum(nil))
}

func checkPixels(ft *format, w, h int, max int64) error {
	if w <= 0 || h <= 0 {
		return ft.refuse(damaged("no size (%dx%d)", w, h))
	}
	if int64(w)*int64(h) > max {
		return maniwani.Errorf(maniwani.KindInvalid, "The %s is %dx%d, over the limit of %s megapixels.",
			ft.noun, w, h, strconv.FormatFloat(float64(max)/1e6, 'f', -1, 64))
	}
	return nil
}

// SizeText writes n bytes as a person reads a limit: "4 MB", "1.5 MB", "800 KB".
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// typesText names the types l takes, as a poster reads them: "JPEG, PNG
// and WebM".
func (l Limits) typesText() string {
	types := l.Types
	if types == nil {
		types = DefaultTypes()
	}
	names := make([]string, 0, len(types))
	for _, t := range types {
		name := strings.ToUpper(strings.TrimPrefix(t, "."))
		switch t {
		case ".jpg":
			name = "JPEG"
		case ".webp":
			name = "WebP"
		case ".webm":
			name = "WebM"
		}
		names = append(names, name)
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
