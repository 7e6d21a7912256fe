package captcha_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"image/png"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/maniwani/maniwani/api/captcha"
)

func maker(t testing.TB, cfg captcha.Config) *captcha.Maker {
	t.Helper()
	m, err := captcha.NewMaker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func make1(t testing.TB, m *captcha.Maker) captcha.Challenge {
	t.Helper()
	c, err := m.New(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chunks lists the types of a PNG's chunks, in order.
func chunks(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("not a PNG signature")
	}
	var types []string
	for b = b[8:]; len(b) > 0; {
		if len(b) < 12 {
			t.Fatalf("truncated chunk: %d bytes left", len(b))
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 12+n {
			t.Fatalf("chunk of %d bytes with %d left", n, len(b)-12)
		}
		types = append(types, string(b[4:8]))
		b = b[12+n:]
	}
	return types
}

func TestThePNGCarriesPixelsOnly(t *testing.T) {
	for _, cfg := range []captcha.Config{{}, {Width: 300, Height: 100, Length: 7}, {Plain: true}} {
		m := maker(t, cfg)
		for range 20 {
			c := make1(t, m)
			for _, typ := range chunks(t, c.PNG) {
				if typ != "IHDR" && typ != "IDAT" && typ != "IEND" {
					t.Fatalf("chunk %s in the PNG: only IHDR, IDAT and IEND belong there", typ)
				}
			}
			if bytes.Contains(bytes.ToUpper(c.PNG), []byte(c.Answer)) {
				t.Fatalf("answer %s is in the PNG's bytes", c.Answer)
			}
			img, err := png.Decode(bytes.NewReader(c.PNG))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height {
				t.Fatalf("image is %v, challenge says %dx%d", b, c.Width, c.Height)
			}
			want := cfg
			if want.Width == 0 {
				want.Width, want.Height, want.Length = 240, 80, 6
			}
			if c.Width != want.Width || c.Height != want.Height || len(c.Answer) != want.Length {
				t.Fatalf("challenge %dx%d %q for config %+v", c.Width, c.Height, c.Answer, cfg)
			}
			for _, r := range c.Answer {
				if !strings.ContainsRune(captcha.Alphabet, r) {
					t.Fatalf("answer %q has %q, not in the alphabet", c.Answer, r)
				}
			}
		}
	}
}

func TestCheck(t *testing.T) {
	for _, resp := range []string{"AC3XY7", "ac3xy7", "Ac3Xy7", " AC3 XY7 ", "a c 3 x y 7", "\tAC3XY7\n"} {
		if !captcha.Check("AC3XY7", resp) {
			t.Errorf("Check(AC3XY7, %q) refused a right answer", resp)
		}
	}
	for _, resp := range []string{"", " ", "AC3XY", "AC3XY77", "AC3XY4", "CA3XY7", "AC3-XY7", "ÀC3XY7"} {
		if captcha.Check("AC3XY7", resp) {
			t.Errorf("Check(AC3XY7, %q) accepted a wrong answer", resp)
		}
	}
	if captcha.Check("", "") {
		t.Error("an empty answer accepted an empty response")
	}
}

func TestChallengesDiffer(t *testing.T) {
	m := maker(t, captcha.Config{})
	a, b := make1(t, m), make1(t, m)
	if a.Answer == b.Answer || bytes.Equal(a.PNG, b.PNG) {
		t.Fatalf("two challenges alike: %s and %s", a.Answer, b.Answer)
	}
	// The randomness is all from the reader: the same seed, the same challenge.
	seed := [32]byte{7}
	c, err := m.New(mrand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.New(mrand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	if c.Answer != d.Answer || !bytes.Equal(c.PNG, d.PNG) {
		t.Fatal("one seed made two different challenges")
	}
}

func TestAFailingReaderFails(t *testing.T) {
	m := maker(t, captcha.Config{})
	if _, err := m.New(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("31 bytes of randomness were enough")
	}
}

func TestConfigOutOfRange(t *testing.T) {
	for _, cfg := range []captcha.Config{{Width: 10, Height: 80}, {Width: 240, Height: 5000}, {Length: 100}, {Length: -1}} {
		if _, err := captcha.NewMaker(cfg); err == nil {
			t.Errorf("NewMaker(%+v) accepted", cfg)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	m := maker(t, captcha.Config{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := m.New(rand.Reader); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkNew is the cost of one challenge: drawing and PNG encoding.
// png-bytes is the size of the image sent.
func BenchmarkNew(b *testing.B) {
	m := maker(b, captcha.Config{})
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		c := make1(b, m)
		size += len(c.PNG)
	}
	b.ReportMetric(float64(size)/float64(b.N), "png-bytes/op")
}
