package upload

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/webp"

	"github.com/maniwani/maniwani"
)

// receive runs Receive in a fresh directory and, when it refuses, checks
// that nothing is left there.
func receive(t testing.TB, data []byte, name string, lim Limits) (*File, error) {
	t.Helper()
	dir := t.TempDir()
	f, err := Receive(bytes.NewReader(data), name, dir, lim)
	if err != nil {
		assertEmpty(t, dir)
		return nil, err
	}
	if filepath.Dir(f.Path) != dir {
		t.Fatalf("Path %s not in %s", f.Path, dir)
	}
	t.Cleanup(func() {
		if err := f.Remove(); err != nil {
			t.Error(err)
		}
		assertEmpty(t, dir)
	})
	return f, nil
}

func assertEmpty(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// stored reads the bytes f holds and checks its size and hashes against them.
func stored(t testing.TB, f *File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	sha, md := sha256.Sum256(b), md5.Sum(b)
	if f.Size != int64(len(b)) {
		t.Errorf("Size %d, file has %d bytes", f.Size, len(b))
	}
	if got := hex.EncodeToString(sha[:]); f.SHA256 != got {
		t.Errorf("SHA256 %s, file's is %s", f.SHA256, got)
	}
	if got := base64.StdEncoding.EncodeToString(md[:]); f.MD5 != got || len(f.MD5) != 24 {
		t.Errorf("MD5 %s, file's is %s", f.MD5, got)
	}
	return b
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, w, h, frames int) []byte {
	g := &gif.GIF{}
	for i := 0; i < frames; i++ {
		p := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
		p.SetColorIndex(i%w, 0, 1)
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAccept(t *testing.T) {
	unknownCluster := testdata(t, "tiny-live.webm")
	i := bytes.Index(unknownCluster, []byte("\x1f\x43\xb6\x75"))
	if i < 0 || unknownCluster[i+4]&0x80 == 0 {
		t.Fatal("tiny-live.webm: no Cluster with a one-byte size")
	}
	unknownCluster[i+4] = 0xff // the same length, unknown

	cases := []struct {
		name, file   string
		data         []byte
		ext, ct      string
		w, h         int
		wantFilename string
	}{
		{"png", "cat.png", encodePNG(t, pattern(30, 20)), ".png", "image/png", 30, 20, "cat"},
		{"jpeg", `C:\fakepath\photo.JPG`, encodeJPEG(t, pattern(33, 17)), ".jpg", "image/jpeg", 33, 17, "photo"},
		{"gif", "a.gif", encodeGIF(t, 12, 9, 1), ".gif", "image/gif", 12, 9, "a"},
		{"animated gif", "b.gif", encodeGIF(t, 12, 9, 3), ".gif", "image/gif", 12, 9, "b"},
		{"webp lossy", "x.webp", testdata(t, "tiny.webp"), ".webp", "image/webp", 40, 30, "x"},
		{"webp lossless", "x.webp", testdata(t, "tiny-lossless.webp"), ".webp", "image/webp", 40, 30, "x"},
		{"webp extended", "x.webp", testdata(t, "tiny-alpha.webp"), ".webp", "image/webp", 40, 30, "x"},
		{"webm", "clip.webm", testdata(t, "tiny.webm"), ".webm", "video/webm", 64, 48, "clip"},
		{"webm live", "clip.webm", testdata(t, "tiny-live.webm"), ".webm", "video/webm", 64, 48, "clip"},
		{"webm unknown-size cluster", "clip.webm", unknownCluster, ".webm", "video/webm", 64, 48, "clip"},
		{"mp4 faststart", "clip.mp4", testdata(t, "tiny-faststart.mp4"), ".mp4", "video/mp4", 64, 48, "clip"},
		{"mp4 moov last", "clip.mp4", testdata(t, "tiny.mp4"), ".mp4", "video/mp4", 64, 48, "clip"},
		{"type from bytes, not name", "really.gif", encodePNG(t, pattern(5, 6)), ".png", "image/png", 5, 6, "really"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := receive(t, c.data, c.file, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Ext != c.ext || f.ContentType != c.ct || f.Width != c.w || f.Height != c.h || f.Name != c.wantFilename {
				t.Errorf("got %s %s %dx%d %q, want %s %s %dx%d %q", f.Ext, f.ContentType, f.Width, f.Height, f.Name,
					c.ext, c.ct, c.w, c.h, c.wantFilename)
			}
			want := c.data
			switch c.ext { // ffmpeg's files carry a little metadata
			case ".mp4":
				want = mp4Blank(c.data, mp4Find(t, c.data, "moov", "udta"))
			case ".webm":
				want = webmVoided(t, c.data)
			}
			if got := stored(t, f); !bytes.Equal(got, want) {
				t.Error("stored bytes differ from the upload")
			}
			sha, md := sha256.Sum256(want), md5.Sum(want)
			if f.SHA256 != hex.EncodeToString(sha[:]) || f.MD5 != base64.StdEncoding.EncodeToString(md[:]) {
				t.Error("hashes are not the upload's")
			}
		})
	}
}

// mp4Box is an MP4 box of type typ around body.
func mp4Box(typ string, body ...[]byte) []byte {
	b := join(body...)
	return join(binary.BigEndian.AppendUint32(nil, uint32(8+len(b))), []byte(typ), b)
}

// mp4Find is where the box at path starts (each the first of its type in
// its parent; 32-bit sizes only).
func mp4Find(t testing.TB, data []byte, path ...string) int {
	t.Helper()
	start, end, at := 0, len(data), -1
	for _, typ := range path {
		at = -1
		for off := start; off+8 <= end; off += int(binary.BigEndian.Uint32(data[off:])) {
			if string(data[off+4:off+8]) == typ {
				at, start, end = off, off+8, off+int(binary.BigEndian.Uint32(data[off:]))
				break
			}
		}
		if at < 0 {
			t.Fatalf("no box %v", path)
		}
	}
	return at
}

// mp4Append adds child at the end of the box at path, the boxes around it
// grown to hold it.
func mp4Append(t testing.TB, data, child []byte, path ...string) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	for i := range path {
		at := mp4Find(t, out, path[:i+1]...)
		binary.BigEndian.PutUint32(out[at:], binary.BigEndian.Uint32(out[at:])+uint32(len(child)))
	}
	at := mp4Find(t, out, path...)
	end := at + int(binary.BigEndian.Uint32(out[at:])) - len(child)
	return join(out[:end], child, out[end:])
}

// mp4Blank is data with the box at at made a free box of zeros.
func mp4Blank(data []byte, at int) []byte {
	out := append([]byte(nil), data...)
	copy(out[at+4:], "free")
	clear(out[at+8 : at+int(binary.BigEndian.Uint32(out[at:]))])
	return out
}

// An MP4's metadata (user data with the place it was filmed, Apple's meta,
// XMP), at the top, in moov and in a track, is blanked: each box becomes a
// free box of zeros, so that no offset into the file moves; the rest, and a
// uuid box that is not XMP, stay byte for byte.
func TestMP4MetadataBlanked(t *testing.T) {
	const place = "+48.8584+002.2945/"
	xyz := mp4Box("\xa9xyz", []byte{0, byte(len(place)), 0x15, 0xc7}, []byte(place))
	keys := mp4Box("meta", make([]byte, 4), mp4Box("keys", []byte("com.apple.quicktime.location.ISO6709")))
	xmp := mp4Box("uuid", []byte(xmpUUID), []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/">Home</x:xmpmeta>`))
	other := mp4Box("uuid", bytes.Repeat([]byte{0x11}, 16), []byte("kept"))

	data := testdata(t, "tiny.mp4") // moov after mdat: adding to it moves no media
	data = mp4Append(t, data, mp4Box("udta", xyz), "moov", "trak")
	data = mp4Append(t, data, keys, "moov")
	data = join(data, xmp, other)
	want := data
	for _, path := range [][]string{{"moov", "trak", "udta"}, {"moov", "udta"}, {"moov", "meta"}, {"uuid"}} {
		want = mp4Blank(want, mp4Find(t, want, path...))
	}
	f, err := receive(t, data, "v.mp4", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, f)
	if !bytes.Equal(got, want) {
		t.Errorf("stored %d bytes, want the %d of the upload with its metadata blanked", len(got), len(want))
	}
	for _, secret := range []string{place, "com.apple.quicktime.location", "xmpmeta"} {
		if bytes.Contains(got, []byte(secret)) {
			t.Errorf("%q is still in the file", secret)
		}
	}
	if !bytes.HasSuffix(got, other) {
		t.Error("a uuid box that is not XMP was changed")
	}
	if f.Width != 64 || f.Height != 48 {
		t.Errorf("%dx%d", f.Width, f.Height)
	}
}

// webmSegment is where the Segment's body starts and ends (its end is the
// file's when its size is unknown), and where its 8-byte size is.
func webmSegment(t testing.TB, data []byte) (body, end, sizeAt int) {
	t.Helper()
	_, hdr, rest, ok := ebmlElem(data)
	if !ok {
		t.Fatal("no EBML header")
	}
	at := len(data) - len(rest)
	_ = hdr
	id, n, _ := parseID(rest)
	size, m, unknown, _ := parseSize(rest[n:])
	if id != idSegment || m != 8 {
		t.Fatalf("Segment %#x with a %d-byte size", id, m)
	}
	body, end = at+n+m, len(data)
	if !unknown {
		end = body + int(size)
	}
	return body, end, at + n
}

// webmVoided is data with each Tags and Attachments element in its Segment
// (of more than 9 bytes) made a Void element of zeros.
func webmVoided(t testing.TB, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	off, end, _ := webmSegment(t, out)
	for off < end {
		id, n, ok1 := parseID(out[off:])
		size, m, unknown, ok2 := parseSize(out[off+n:])
		if !ok1 || !ok2 || unknown { // a live stream's Cluster: the rest is clusters and cues
			break
		}
		next := off + n + m + int(size)
		if next-off > 9 && (id == idTags || id == idAttachments) {
			out[off] = 0xec
			out[off+1] = 0x01
			binary.BigEndian.PutUint64(out[off+1:], uint64(next-off-9)|1<<56)
			clear(out[off+9 : next])
		}
		off = next
	}
	return out
}

// A WebM's Tags (titles, dates, places) and Attachments become Void
// elements of zeros, the same length, so that nothing moves; a stored file
// uploaded again is stored as it is.
func TestWebMMetadataVoided(t *testing.T) {
	const place = "+48.8584+002.2945/"
	data := testdata(t, "tiny.webm")
	_, end, sizeAt := webmSegment(t, data)
	elem := func(id string, body ...[]byte) []byte { // with a one-byte size
		b := join(body...)
		return join([]byte(id), []byte{0x80 | byte(len(b))}, b)
	}
	tags := elem("\x12\x54\xc3\x67", elem("\x73\x73", elem("\x67\xc8", // Tags, Tag, SimpleTag
		elem("\x45\xa3", []byte("LOCATION")), elem("\x44\x87", []byte(place))))) // TagName, TagString
	attachments := elem("\x19\x41\xa4\x69", []byte("a file!!"))
	emptyTags := []byte{0x12, 0x54, 0xc3, 0x67, 0x80} // 5 bytes: the Void's size takes 4
	added := join(tags, attachments, emptyTags)
	in := join(data[:end], added, data[end:])
	binary.BigEndian.PutUint64(in[sizeAt:], binary.BigEndian.Uint64(data[sizeAt:])+uint64(len(added)))

	f, err := receive(t, in, "v.webm", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, f)
	if len(got) != len(in) {
		t.Fatalf("stored %d bytes of %d", len(got), len(in))
	}
	want := webmVoided(t, in)
	copy(want[end+len(tags)+len(attachments):], []byte{0xec, 0x10, 0, 0, 0}) // a 4-byte size of 0
	if !bytes.Equal(got, want) {
		t.Errorf("stored bytes are not the upload's with its Tags and Attachments made Void")
	}
	if bytes.Contains(got, []byte(place)) || bytes.Contains(got, []byte("a file")) {
		t.Error("the metadata is still in the file")
	}
	if f.Width != 64 || f.Height != 48 {
		t.Errorf("%dx%d", f.Width, f.Height)
	}
	again, err := receive(t, got, "v.webm", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored(t, again), got) {
		t.Error("the stored file, uploaded again, was changed")
	}
}

// The Title in a WebM's Info (whatever the muxer or its user named the
// file) becomes a Void element of zeros, long or short; the rest of Info
// and of the file (but its Tags) stays as it was, in place.
func TestWebMTitleVoided(t *testing.T) {
	data := testdata(t, "tiny.webm")
	off, end, sizeAt := webmSegment(t, data)
	for off < end { // find Info among the Segment's elements
		id, n, _ := parseID(data[off:])
		size, m, _, _ := parseSize(data[off+n:])
		if id == idInfo {
			if m != 1 {
				t.Fatalf("Info with a %d-byte size", m)
			}
			break
		}
		off += n + m + int(size)
	}
	if off >= end {
		t.Fatal("no Info in tiny.webm")
	}
	infoEnd := off + 5 + int(data[off+4]&0x7f)
	for _, title := range []string{"Our holiday at 12 Rue de la Paix", "ab"} {
		elem := join([]byte{0x7b, 0xa9, 0x80 | byte(len(title))}, []byte(title))
		in := join(data[:off+4], []byte{data[off+4] + byte(len(elem))}, data[off+5:infoEnd], elem, data[infoEnd:])
		binary.BigEndian.PutUint64(in[sizeAt:], binary.BigEndian.Uint64(data[sizeAt:])+uint64(len(elem)))

		f, err := receive(t, in, "v.webm", Limits{})
		if err != nil {
			t.Fatalf("title %q: %v", title, err)
		}
		got := stored(t, f)
		want := webmVoided(t, in) // tiny.webm has Tags too
		at := infoEnd
		if k := min(8, len(elem)-1); k == 8 {
			want[at] = 0xec
			binary.BigEndian.PutUint64(want[at+1:], uint64(len(elem)-9)|1<<56)
			clear(want[at+9 : at+len(elem)])
		} else {
			copy(want[at:], []byte{0xec, 0x80 >> (k - 1)})
			clear(want[at+2 : at+len(elem)])
		}
		if !bytes.Equal(got, want) {
			t.Errorf("title %q: stored bytes are not the upload's with its Title made Void", title)
		}
		if bytes.Contains(got, []byte(title)) {
			t.Errorf("title %q: still in the file", title)
		}
		again, err := receive(t, got, "v.webm", Limits{})
		if err != nil {
			t.Fatalf("title %q, stored file again: %v", title, err)
		}
		if !bytes.Equal(stored(t, again), got) {
			t.Errorf("title %q: the stored file, uploaded again, was changed", title)
		}
	}
}

// A phone's portrait video: tkhd holds the landscape size and a quarter turn.
func TestMP4Rotated(t *testing.T) {
	data := testdata(t, "tiny-faststart.mp4")
	i := bytes.Index(data, []byte("tkhd"))
	if i < 0 || data[i+4] != 0 {
		t.Fatal("no version 0 tkhd")
	}
	m := i + 4 + 40
	copy(data[m:], []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0})
	f, err := receive(t, data, "v.mp4", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 48 || f.Height != 64 {
		t.Errorf("%dx%d, want 48x64", f.Width, f.Height)
	}
}

// hugePNG is a valid PNG header claiming w x h, with a tiny IDAT.
func hugePNG(t testing.TB, w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1000))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

func TestHugeImageRefusedCheaply(t *testing.T) {
	data := hugePNG(t, 20000, 20000)
	if len(data) > 4096 {
		t.Fatalf("the PNG is %d bytes", len(data))
	}
	dir := t.TempDir()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Receive(bytes.NewReader(data), "big.png", dir, Limits{})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	assertEmpty(t, dir)
	want := "The image is 20000x20000, over the limit of 40 megapixels."
	if maniwani.ErrorKind(err) != maniwani.KindInvalid || maniwani.ErrorMessage(err) != want {
		t.Fatalf("err %v, want %q", err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes to refuse it", alloc)
	}
	if took > time.Second {
		t.Errorf("took %v", took)
	}
	// Under a limit it fits, the same file passes: the limit refused it.
	if _, err := receive(t, data, "big.png", Limits{MaxPixels: 400_000_000}); err != nil {
		t.Errorf("under a 400 MP limit: %v", err)
	}
}

func TestRefuse(t *testing.T) {
	png := encodePNG(t, pattern(30, 20))
	jpg := encodeJPEG(t, pattern(64, 64))
	gifb := encodeGIF(t, 12, 9, 2)
	webp := testdata(t, "tiny.webp")
	webm := testdata(t, "tiny.webm")
	mp4 := testdata(t, "tiny.mp4")
	mp4fast := testdata(t, "tiny-faststart.mp4")
	live := testdata(t, "tiny-live.webm")

	badCRC := bytes.Clone(png)
	badCRC[len(badCRC)-20] ^= 1 // inside IDAT
	matroska := bytes.Replace(webm, []byte("\x42\x82\x84webm"), []byte("\x42\x82\x84mkv1"), 1)
	h264webm := bytes.Replace(webm, []byte("V_VP8"), []byte("V_H26"), 1)
	badInfo := bytes.Replace(webm, []byte("\x2a\xd7\xb1\x83"), []byte("\x2a\xd7\xb1\xff"), 1) // TimestampScale of unknown size

	const (
		notTaken = "The file's type is not one this board takes: it takes JPEG, PNG, GIF, WebP, WebM and MP4."
		cutJPEG  = "The file is not a valid JPEG image (it is cut short or damaged)."
		cutPNG   = "The file is not a valid PNG image (it is cut short or damaged)."
		cutGIF   = "The file is not a valid GIF image (it is cut short or damaged)."
		cutWebP  = "The file is not a valid WebP image (it is cut short or damaged)."
		cutWebM  = "The file is not a valid WebM video (it is cut short or damaged)."
		cutMP4   = "The file is not a valid MP4 video (it is cut short or damaged)."
	)
	cases := []struct {
		name string
		data []byte
		lim  Limits
		kind maniwani.Kind
		msg  string
	}{
		{"empty", nil, Limits{}, maniwani.KindInvalid, "The file is empty."},
		{"text named .png", []byte("hello, world\n"), Limits{}, maniwani.KindInvalid, notTaken},
		{"html", []byte("<html><script>alert(1)</script></html>"), Limits{}, maniwani.KindInvalid, notTaken},
		{"over the size limit", png, Limits{MaxSize: int64(len(png)) - 1}, maniwani.KindTooLarge,
			"The file is larger than this board's limit of " + SizeText(int64(len(png))-1) + "."},
		{"type not taken", webm, Limits{Types: []string{".jpg", ".png"}}, maniwani.KindInvalid, "This board does not take WebM files: it takes JPEG and PNG."},
		{"no types", png, Limits{Types: []string{}}, maniwani.KindInvalid, "This board does not take PNG files: it takes none."},
		{"jpeg cut in half", jpg[:len(jpg)/2], Limits{}, maniwani.KindInvalid, cutJPEG},
		{"jpeg without EOI", jpg[:len(jpg)-2], Limits{}, maniwani.KindInvalid, cutJPEG},
		{"jpeg with a zip after it", append(bytes.Clone(jpg), "PK\x03\x04rest of an archive"...), Limits{}, maniwani.KindInvalid,
			"The file is not a valid JPEG image (it has data after its end)."},
		{"png cut in half", png[:len(png)/2], Limits{}, maniwani.KindInvalid, cutPNG},
		{"png without IEND", png[:len(png)-12], Limits{}, maniwani.KindInvalid, cutPNG},
		{"png with a bad CRC", badCRC, Limits{}, maniwani.KindInvalid, cutPNG},
		{"png with data after IEND", append(bytes.Clone(png), "junk"...), Limits{}, maniwani.KindInvalid,
			"The file is not a valid PNG image (it has data after its end)."},
		{"gif cut", gifb[:len(gifb)-1], Limits{}, maniwani.KindInvalid, cutGIF},
		{"webp cut", webp[:len(webp)-3], Limits{}, maniwani.KindInvalid, cutWebP},
		{"webm cut in its header", webm[:30], Limits{}, maniwani.KindInvalid, notTaken},
		{"webm cut after its header", webm[:60], Limits{}, maniwani.KindInvalid, cutWebM},
		{"webm cut in half", webm[:len(webm)/2], Limits{}, maniwani.KindInvalid, cutWebM},
		{"webm cut by a byte", webm[:len(webm)-1], Limits{}, maniwani.KindInvalid, cutWebM},
		{"live webm cut in a block", live[:len(live)-5], Limits{}, maniwani.KindInvalid, cutWebM},
		{"webm with data after it", append(bytes.Clone(webm), 0), Limits{}, maniwani.KindInvalid,
			"The file is not a valid WebM video (it has data after its end)."},
		{"webm with a bad element in Info", badInfo, Limits{}, maniwani.KindInvalid, cutWebM},
		{"matroska", matroska, Limits{}, maniwani.KindInvalid, notTaken},
		{"webm with H.264", h264webm, Limits{}, maniwani.KindInvalid,
			"The file is not a valid WebM video (its video is not VP8, VP9 or AV1)."},
		{"mp4 cut in half", mp4[:len(mp4)/2], Limits{}, maniwani.KindInvalid, cutMP4},
		{"faststart mp4 cut in half", mp4fast[:len(mp4fast)/2], Limits{}, maniwani.KindInvalid, cutMP4},
		{"mp4 cut by a byte", mp4fast[:len(mp4fast)-1], Limits{}, maniwani.KindInvalid, cutMP4},
		{"mp4 with data after it", append(bytes.Clone(mp4), "PK\x03\x04"...), Limits{}, maniwani.KindInvalid, cutMP4},
		{"mp4 without video", testdata(t, "audio-only.mp4"), Limits{}, maniwani.KindInvalid,
			"The file is not a valid MP4 video (it has no video track)."},
		{"video over the pixel limit", webm, Limits{MaxPixels: 1_000}, maniwani.KindInvalid,
			"The video is 64x48, over the limit of 0.001 megapixels."},
		{"mp4 over the pixel limit", mp4, Limits{MaxPixels: 64*48 - 1}, maniwani.KindInvalid,
			"The video is 64x48, over the limit of 0.003071 megapixels."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := receive(t, c.data, "file.png", c.lim)
			if err == nil {
				t.Fatal("accepted")
			}
			if k := maniwani.ErrorKind(err); k != c.kind || maniwani.ErrorMessage(err) != c.msg {
				t.Errorf("kind %d, %q (%v)\nwant kind %d, %q", k, maniwani.ErrorMessage(err), err, c.kind, c.msg)
			}
		})
	}
}

// endless is an upload that never ends, counting what is read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.n += int64(len(p))
	return len(p), nil
}

func TestTooLargeStopsReading(t *testing.T) {
	dir := t.TempDir()
	r := &endless{}
	_, err := Receive(r, "x.png", dir, Limits{MaxSize: 4 << 20})
	if maniwani.ErrorKind(err) != maniwani.KindTooLarge ||
		maniwani.ErrorMessage(err) != "The file is larger than this board's limit of 4 MB." {
		t.Fatalf("err %v", err)
	}
	if r.n > 4<<20+1 {
		t.Errorf("read %d bytes", r.n)
	}
	assertEmpty(t, dir)
}

type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n > 0 {
		return 0, io.ErrUnexpectedEOF
	}
	f.n++
	return copy(p, "\x89PNG\r\n\x1a\n"), nil
}

func TestReadError(t *testing.T) {
	dir := t.TempDir()
	_, err := Receive(&failing{}, "x.png", dir, Limits{})
	if !errors.Is(err, io.ErrUnexpectedEOF) || maniwani.ErrorKind(err) != maniwani.KindInternal {
		t.Errorf("err %v", err)
	}
	assertEmpty(t, dir)
}

func exifSegment(order string, orient uint16) []byte {
	var bo binary.AppendByteOrder = binary.BigEndian
	if order == "II" {
		bo = binary.LittleEndian
	}
	tiff := []byte(order)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: Make, Orientation
	tiff = bo.AppendUint16(tiff, 0x010f)
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, "Cam\x00"...)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, orient)
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0)
	return segment(0xe1, append([]byte("Exif\x00\x00"), tiff...))
}

func segment(marker byte, body []byte) []byte {
	s := []byte{0xff, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(len(body)+2))
	return append(s, body...)
}

var (
	iccSegment = segment(0xe2, []byte("ICC_PROFILE\x00\x01\x01not really a profile"))
	xmpSegment = segment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS</x:xmpmeta>"))
	app0       = segment(0xe0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	mpfSegment = segment(0xe2, []byte("MPF\x00II*\x00"))
)

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestEXIFStrippedLosslessly(t *testing.T) {
	jpg := encodeJPEG(t, pattern(40, 24))
	in := join(jpg[:2], app0, exifSegment("MM", 1), iccSegment, xmpSegment, mpfSegment, jpg[2:])
	want := join(jpg[:2], app0, iccSegment, jpg[2:])
	f, err := receive(t, in, "p.jpg", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, f)
	if !bytes.Equal(got, want) {
		t.Errorf("stored %d bytes, want the %d of the upload without its EXIF, XMP and MPF", len(got), len(want))
	}
	if f.Width != 40 || f.Height != 24 {
		t.Errorf("%dx%d", f.Width, f.Height)
	}
	sha := sha256.Sum256(want)
	if f.SHA256 != hex.EncodeToString(sha[:]) {
		t.Error("SHA256 is not of the stripped bytes")
	}
}

// A JPEG's comments (COM), wherever they stand among the tables, are cut;
// the rest is stored byte for byte.
func TestJPEGCommentCut(t *testing.T) {
	jpg := encodeJPEG(t, pattern(40, 24))
	sof := bytes.Index(jpg, []byte{0xff, 0xc0}) // the encoder writes DQT, SOF, DHT, SOS
	if sof < 0 {
		t.Fatal("no SOF0 in the encoder's JPEG")
	}
	com1 := segment(0xfe, []byte("Taken at 12 Rue de la Paix by Alice"))
	com2 := segment(0xfe, []byte("edited with SecretTool 3.1"))
	in := join(jpg[:2], app0, com1, jpg[2:sof], com2, jpg[sof:])
	want := join(jpg[:2], app0, jpg[2:])
	f, err := receive(t, in, "c.jpg", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, f)
	if !bytes.Equal(got, want) {
		t.Errorf("stored %d bytes, want the %d of the upload without its comments", len(got), len(want))
	}
	if bytes.Contains(got, []byte("Rue de la Paix")) || bytes.Contains(got, []byte("SecretTool")) {
		t.Error("a comment is still in the stored file")
	}
}

// pngChunk is a PNG chunk: length, type, data and CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(append(b, typ...), data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// A PNG's metadata chunks (EXIF, text, time) are cut; the pixels' chunks and
// the other ancillary ones (gamma, physical size) stay, byte for byte.
func TestPNGMetadataCut(t *testing.T) {
	img := encodePNG(t, pattern(20, 10))
	const ihdrEnd = 8 + 25
	gama := pngChunk("gAMA", binary.BigEndian.AppendUint32(nil, 45455))
	phys := pngChunk("pHYs", append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 2835), 2835), 1))
	exif := pngChunk("eXIf", append([]byte("MM\x00\x2a\x00\x00\x00\x08"), []byte("GPS 48.8584N 2.2945E")...))
	text := pngChunk("tEXt", []byte("Author\x00Somebody Real"))
	itxt := pngChunk("iTXt", []byte("Comment\x00\x00\x00en\x00\x00taken at home"))
	ztxt := pngChunk("zTXt", []byte("Software\x00\x00x\x9c\x03\x00\x00\x00\x00\x01"))
	tim := pngChunk("tIME", []byte{0x07, 0xea, 11, 22, 10, 0, 0})
	in := join(img[:ihdrEnd], gama, exif, text, phys, itxt, img[ihdrEnd:len(img)-12], ztxt, tim, img[len(img)-12:])
	want := join(img[:ihdrEnd], gama, phys, img[ihdrEnd:])
	f, err := receive(t, in, "p.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := stored(t, f); !bytes.Equal(got, want) {
		t.Errorf("stored %d bytes, want the %d of the upload without eXIf, tEXt, iTXt, zTXt and tIME", len(got), len(want))
	}
	if f.Width != 20 || f.Height != 10 {
		t.Errorf("%dx%d", f.Width, f.Height)
	}
}

// webpWith is the WebP img with chunks added at its end, its RIFF size
// fixed and, in an extended one, flags set in its VP8X header.
func webpWith(img []byte, flags byte, chunks ...[]byte) []byte {
	out := join(append([]byte(nil), img...), join(chunks...))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	if string(out[12:16]) == "VP8X" {
		out[20] |= flags
	}
	return out
}

func riffChunk(fourcc string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32([]byte(fourcc), uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// A WebP's EXIF and XMP chunks are cut, and its RIFF size and extended
// header say so: what is stored is the image as it was before they were
// added, byte for byte.
func TestWebPMetadataCut(t *testing.T) {
	exif := riffChunk("EXIF", []byte("MM\x00\x2a\x00\x00\x00\x08GPS")) // odd: padded
	xmp := riffChunk("XMP ", []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/">where</x:xmpmeta>`))
	for _, c := range []struct{ name, file string }{
		{"extended", "tiny-alpha.webp"}, // VP8X, ALPH, VP8
		{"simple", "tiny.webp"},         // VP8 alone: chunks after it are cut all the same
	} {
		t.Run(c.name, func(t *testing.T) {
			img := testdata(t, c.file)
			f, err := receive(t, webpWith(img, webpEXIF|webpXMP, exif, xmp), "p.webp", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got := stored(t, f)
			if !bytes.Equal(got, img) {
				t.Errorf("stored %d bytes, want the %d of %s", len(got), len(img), c.file)
			}
			if _, err := webp.Decode(bytes.NewReader(got)); err != nil {
				t.Errorf("stored WebP does not decode: %v", err)
			}
		})
	}
}

// quadrants is an image with a colour per quadrant, in blocks of 16 pixels
// so that JPEG keeps them apart: red, blue / green, white.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, quadrant(x >= w/2, y >= h/2))
		}
	}
	return img
}

func quadrant(right, bottom bool) color.RGBA {
	switch {
	case !right && !bottom:
		return color.RGBA{255, 0, 0, 255}
	case right && !bottom:
		return color.RGBA{0, 0, 255, 255}
	case !right:
		return color.RGBA{0, 255, 0, 255}
	}
	return color.RGBA{255, 255, 255, 255}
}

func near(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return x-y < 0x2000 || y-x < 0x2000 }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

// TestEXIFOrientation checks every orientation against the EXIF spec's
// words (where the stored row 0 and column 0 are to be shown), not against
// the library that turns the pixels.
func TestEXIFOrientation(t *testing.T) {
	const W, H = 64, 32
	jpg := encodeJPEG(t, quadrants(W, H))
	// from gives the stored pixel shown at (x, y) of the display.
	from := map[uint16]func(x, y, dw, dh int) (int, int){
		2: func(x, y, dw, dh int) (int, int) { return dw - 1 - x, y },
		3: func(x, y, dw, dh int) (int, int) { return dw - 1 - x, dh - 1 - y },
		4: func(x, y, dw, dh int) (int, int) { return x, dh - 1 - y },
		5: func(x, y, dw, dh int) (int, int) { return y, x },
		6: func(x, y, dw, dh int) (int, int) { return y, dw - 1 - x },
		7: func(x, y, dw, dh int) (int, int) { return dh - 1 - y, dw - 1 - x },
		8: func(x, y, dw, dh int) (int, int) { return dh - 1 - y, x },
	}
	for o := uint16(2); o <= 8; o++ {
		order := "II"
		if o%2 == 0 {
			order = "MM"
		}
		in := join(jpg[:2], exifSegment(order, o), iccSegment, xmpSegment, jpg[2:])
		f, err := receive(t, in, "p.jpg", Limits{})
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		out := stored(t, f)
		if bytes.Contains(out, []byte("Exif\x00\x00")) || bytes.Contains(out, []byte("xmpmeta")) {
			t.Errorf("orientation %d: metadata left", o)
		}
		if !bytes.Contains(out, iccSegment) {
			t.Errorf("orientation %d: the ICC profile is lost", o)
		}
		dw, dh := W, H
		if o >= 5 {
			dw, dh = H, W
		}
		if f.Width != dw || f.Height != dh {
			t.Errorf("orientation %d: %dx%d, want %dx%d", o, f.Width, f.Height, dw, dh)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != dw || b.Dy() != dh {
			t.Fatalf("orientation %d: decoded %v", o, b)
		}
		for _, p := range []image.Point{{dw / 4, dh / 4}, {3 * dw / 4, dh / 4}, {dw / 4, 3 * dh / 4}, {3 * dw / 4, 3 * dh / 4}} {
			sx, sy := from[o](p.X, p.Y, dw, dh)
			want := quadrant(sx >= W/2, sy >= H/2)
			if got := img.At(p.X, p.Y); !near(got, want) {
				t.Errorf("orientation %d: at %v got %v, want %v", o, p, got, want)
			}
		}
	}
}

// Check does all but the decode of a turned JPEG, which Finish does; an
// upload checked and never finished, or whose decode fails, leaves nothing.
func TestCheckThenFinish(t *testing.T) {
	jpg := encodeJPEG(t, quadrants(64, 32))
	turned := join(jpg[:2], exifSegment("MM", 6), jpg[2:])
	files := func(dir string) int {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}

	dir := t.TempDir()
	c, err := Check(bytes.NewReader(turned), "p.jpg", dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Decodes() || files(dir) != 1 {
		t.Fatalf("a turned JPEG, checked: Decodes %v, %d files", c.Decodes(), files(dir))
	}
	f, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 32 || f.Height != 64 || files(dir) != 1 {
		t.Errorf("finished: %dx%d, %d files", f.Width, f.Height, files(dir))
	}
	if bytes.Contains(stored(t, f), []byte("Exif")) {
		t.Error("finished with its EXIF")
	}
	c.Remove() // spent: not the File's bytes
	if _, err := os.Stat(f.Path); err != nil {
		t.Errorf("Remove after Finish removed the File: %v", err)
	}
	f.Remove()

	c, err = Check(bytes.NewReader(turned), "p.jpg", dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c.Remove()
	assertEmpty(t, dir)

	plain := join(jpg[:2], exifSegment("II", 1), jpg[2:])
	if c, err = Check(bytes.NewReader(plain), "p.jpg", dir, Limits{}); err != nil || c.Decodes() {
		t.Fatalf("a JPEG as stored: Decodes %v, %v", c != nil && c.Decodes(), err)
	}
	if f, err = c.Finish(); err != nil || !bytes.Equal(stored(t, f), jpg) {
		t.Errorf("a JPEG as stored, finished: %v", err)
	}
	f.Remove()

	// A Huffman table the walk does not read but the decoder refuses.
	bad := bytes.Clone(turned)
	dht := bytes.Index(bad, []byte{0xff, 0xc4})
	for i := range 16 {
		bad[dht+5+i] = 0xff // code counts of far more than 256 codes
	}
	if c, err = Check(bytes.NewReader(bad), "p.jpg", dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Finish(); maniwani.ErrorKind(err) != maniwani.KindInvalid {
		t.Errorf("a turned JPEG that does not decode: %v", err)
	}
	assertEmpty(t, dir)
}

// samePixels tells whether two images decode to the same pixels.
func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// Go's own test JPEGs: restart markers, progressive scans, grey, CMYK; their
// APP segments (Ducky, Photoshop, ...) go, the pixels stay exactly as they were.
func TestJPEGKinds(t *testing.T) {
	for _, name := range []string{"video-001.restart2.jpeg", "video-001.progressive.jpeg", "video-005.gray.jpeg", "video-001.cmyk.jpeg"} {
		t.Run(name, func(t *testing.T) {
			in := testdata(t, name)
			f, err := receive(t, in, name, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := jpeg.Decode(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpeg.Decode(bytes.NewReader(stored(t, f)))
			if err != nil {
				t.Fatal(err)
			}
			if !samePixels(got, want) {
				t.Error("the pixels changed")
			}
			if b := want.Bounds(); f.Width != b.Dx() || f.Height != b.Dy() {
				t.Errorf("%dx%d, want %v", f.Width, f.Height, b)
			}
		})
	}
}

// A turned grey JPEG stays grey with its profile; a turned CMYK one becomes
// RGB and drops its CMYK profile, which would no longer fit.
func TestEXIFOrientationGreyCMYK(t *testing.T) {
	for _, c := range []struct {
		name string
		icc  bool
	}{{"video-005.gray.jpeg", true}, {"video-001.cmyk.jpeg", false}} {
		in := testdata(t, c.name)
		src, err := jpeg.Decode(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		in = join(in[:2], exifSegment("MM", 6), iccSegment, in[2:])
		f, err := receive(t, in, "p.jpg", Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out := stored(t, f)
		if bytes.Contains(out, iccSegment) != c.icc {
			t.Errorf("%s: ICC profile kept %t, want %t", c.name, !c.icc, c.icc)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if _, grey := img.(*image.Gray); grey != c.icc {
			t.Errorf("%s: decodes as %T", c.name, img)
		}
		if b := src.Bounds(); f.Width != b.Dy() || f.Height != b.Dx() || img.Bounds().Dx() != b.Dy() {
			t.Errorf("%s: %dx%d from %v", c.name, f.Width, f.Height, b)
		}
	}
}

// The walk itself, on made-up entropy data: stuffed zeros, restart markers
// and fill bytes are data; a scan must end at EOI or the next segment.
func TestWalkJPEGMarkers(t *testing.T) {
	sof := segment(0xc0, make([]byte, 15))
	sos := segment(0xda, make([]byte, 10))
	dht := segment(0xc4, make([]byte, 20))
	for _, c := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"stuffing and restarts", join([]byte{0xff, 0xd8}, sof, sos, []byte{1, 0xff, 0, 2, 0xff, 0xd0, 3, 0xff, 0xd7, 4, 0xff, 0xff, 0xd9}), true},
		{"scans with tables between", join([]byte{0xff, 0xd8}, sof, sos, []byte{1, 2}, dht, sos, []byte{3}, []byte{0xff, 0xd9}), true},
		{"fill before a marker", join([]byte{0xff, 0xd8, 0xff, 0xff}, sof, sos, []byte{0xff, 0xd9}), true},
		{"zero padding after EOI", join([]byte{0xff, 0xd8}, sof, sos, []byte{0xff, 0xd9, 0, 0, 0}), true},
		{"no EOI", join([]byte{0xff, 0xd8}, sof, sos, []byte{1, 2, 3}), false},
		{"SOS before SOF", join([]byte{0xff, 0xd8}, sos, []byte{0xff, 0xd9}), false},
		{"EOI before a scan", join([]byte{0xff, 0xd8}, sof, []byte{0xff, 0xd9}), false},
		{"a second SOI in a scan", join([]byte{0xff, 0xd8}, sof, sos, []byte{0xff, 0xd8, 0xff, 0xd9}), false},
		{"a segment past the end", join([]byte{0xff, 0xd8}, sof[:10]), false},
		{"junk after EOI", join([]byte{0xff, 0xd8}, sof, sos, []byte{0xff, 0xd9, 0, 1}), false},
	} {
		_, err := walkJPEG(newScanner(bytes.NewReader(c.data), int64(len(c.data))))
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".png" // 300 bytes of name
	for _, c := range []struct{ in, want string }{
		{"cat.png", "cat"},
		{`C:\fakepath\cat.png`, "cat"},
		{"/home/anon/Pictures/cat.jpeg", "cat"},
		{"archive.tar.gz", "archive.tar"},
		{"Mr. Smith", "Mr. Smith"},
		{"noext", "noext"},
		{"  spaced out .png  ", "spaced out"},
		{"...dots...png", "dots"},
		{".png", "png"},
		{"a<b>c:d\"e|f?g*h.gif", "abcdefgh"},
		{"tab\there\nnew\x00line.webm", "tabherenewline"},
		{"evil\u202egnp.exe", "evilgnp"},
		{"\xff\xfebad utf8.png", "bad utf8"},
		{"👩‍👩‍👧.png", "👩‍👩‍👧"},
		{"ad\u200dmin\u200b\ufeff.png", "admin"},
		{"", "file"},
		{"...", "file"},
		{"C:\\", "file"},
		{"dir/", "file"},
		{long, strings.Repeat("é", 100)},
		{strings.Repeat("a", 199) + "é.png", strings.Repeat("a", 199)},
	} {
		if got := cleanName(c.in); got != c.want {
			t.Errorf("cleanName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{
		4 << 20: "4 MB", 3 << 19: "1.5 MB", 800 << 10: "800 KB", 1500: "1.5 KB", 999: "999 bytes",
	} {
		if got := SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRemoveTwice(t *testing.T) {
	dir := t.TempDir()
	f, err := Receive(bytes.NewReader(encodePNG(t, pattern(3, 3))), "a.png", dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	assertEmpty(t, dir)
}

func FuzzReceive(f *testing.F) {
	jpg := encodeJPEG(f, pattern(20, 12))
	for _, seed := range [][]byte{
		encodePNG(f, pattern(7, 5)),
		encodeGIF(f, 6, 4, 2),
		jpg,
		join(jpg[:2], exifSegment("II", 6), iccSegment, jpg[2:]),
		join(jpg[:2], exifSegment("MM", 1), jpg[2:]),
		hugePNG(f, 20000, 20000),
		testdata(f, "tiny.webp"),
		testdata(f, "tiny-lossless.webp"),
		testdata(f, "tiny-alpha.webp"),
		webpWith(testdata(f, "tiny-alpha.webp"), webpEXIF, riffChunk("EXIF", []byte("MM\x00\x2a"))),
		func() []byte {
			p := encodePNG(f, pattern(7, 5))
			return join(p[:33], pngChunk("eXIf", []byte("MM")), p[33:])
		}(),
		testdata(f, "tiny.webm"),
		testdata(f, "tiny-live.webm"),
		testdata(f, "tiny.mp4"),
		testdata(f, "tiny-faststart.mp4"),
		testdata(f, "audio-only.mp4"),
		testdata(f, "video-001.restart2.jpeg"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file, err := Receive(bytes.NewReader(data), "fuzz.bin", dir, Limits{MaxSize: 1 << 20, MaxPixels: 1 << 20})
		if err != nil {
			if k := maniwani.ErrorKind(err); k != maniwani.KindInvalid && k != maniwani.KindTooLarge {
				t.Fatalf("not a refusal: %v", err)
			}
		} else {
			stored(t, file)
			if file.Width <= 0 || file.Height <= 0 || int64(file.Width)*int64(file.Height) > 1<<20 {
				t.Errorf("accepted %dx%d", file.Width, file.Height)
			}
			if err := file.Remove(); err != nil {
				t.Fatal(err)
			}
		}
		assertEmpty(t, dir)
	})
}

// A file's hashes are of the bytes stored, however it got there: as sent,
// without its metadata, or turned by its orientation (hashed once they are
// final, not as they arrive).
func TestHashesOfStoredBytes(t *testing.T) {
	jpg := encodeJPEG(t, pattern(40, 24))
	for name, in := range map[string][]byte{
		"as sent":          jpg,
		"metadata cut":     join(jpg[:2], app0, exifSegment("MM", 1), xmpSegment, jpg[2:]),
		"turned by 6":      join(jpg[:2], exifSegment("II", 6), jpg[2:]),
		"png as sent":      encodePNG(t, pattern(8, 8)),
		"with a COM block": join(jpg[:2], []byte{0xff, 0xfe, 0, 6, 'a', 'b', 'c', 'd'}, jpg[2:]),
	} {
		f, err := receive(t, in, "p.jpg", Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := stored(t, f)
		sha, md := sha256.Sum256(got), md5.Sum(got)
		if f.SHA256 != hex.EncodeToString(sha[:]) || f.MD5 != base64.StdEncoding.EncodeToString(md[:]) || f.Size != int64(len(got)) {
			t.Errorf("%s: SHA256 %s MD5 %s size %d are not of the %d bytes stored", name, f.SHA256, f.MD5, f.Size, len(got))
		}
	}
}
