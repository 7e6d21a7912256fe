// Package captcha makes image challenges of its own: a PNG of distorted
// characters over noise that people read and off-the-shelf OCR does not,
// made on the site with no third party and no outside request.
//
// A Maker holds the parsed fonts and is safe for concurrent use; New draws
// all its randomness from the reader it is given (crypto/rand.Reader in a
// server, a seeded source in tests), so the answer is as unpredictable as
// that reader. The PNG carries pixels only: no text chunk, so never the
// answer.
package captcha

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/vector"
)

// Alphabet is what answers are made of: capitals and digits without the
// look-alikes that distortion makes ambiguous: 0/O/Q, 1/I (L stays: neither
// is left to mistake it for), 2/Z, 5/S, 6/G, 8/B, and V (two touching
// ones make a W); F and 4, which a crossing stroke turns into E and A.
// 22 symbols, 6 of them: 113 million answers.
const Alphabet = "ACDEHJKLMNPRTUWXY23679"

// Config sizes a challenge. Zero values take the defaults.
type Config struct {
	Width, Height int // pixels; 240 by 80
	Length        int // characters of the answer; 6

	// Plain draws the characters upright, apart, in one font, on a clean
	// background: what OCR reads, for measuring that the distortion is what
	// defeats it. Never for serving.
	Plain bool
}

// Challenge is one image and its answer.
type Challenge struct {
	Answer        string // for the server only: never to the client
	PNG           []byte
	Width, Height int
}

// Maker makes challenges.
type Maker struct {
	cfg    Config
	glyphs [][]glyph // [face][index in Alphabet]
	enc    png.Encoder
	canvas sync.Pool // of *drawing: its buffers are most of a challenge's memory
}

// pngBuffers lets a Maker's encoder reuse its compressor, which otherwise
// allocates about a megabyte per image.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	e, _ := b.p.Get().(*png.EncoderBuffer)
	return e
}
func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }

// NewMaker parses the fonts once for every challenge to come.
func NewMaker(cfg Config) (*Maker, error) {
	if cfg.Width == 0 {
		cfg.Width = 240
	}
	if cfg.Height == 0 {
		cfg.Height = 80
	}
	if cfg.Length == 0 {
		cfg.Length = 6
	}
	if cfg.Width < 20 || cfg.Height < 20 || cfg.Width > 2000 || cfg.Height > 2000 || cfg.Length < 1 || cfg.Length > 32 {
		return nil, fmt.Errorf("captcha: %dx%d px for %d characters is out of range", cfg.Width, cfg.Height, cfg.Length)
	}
	gs, err := loadGlyphs(Alphabet)
	if err != nil {
		return nil, err
	}
	// Speed over a few hundred bytes: the noise barely compresses anyway.
	m := &Maker{cfg: cfg, glyphs: gs, enc: png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}}
	m.canvas.New = func() any {
		r := image.Rect(0, 0, cfg.Width, cfg.Height)
		return &drawing{
			z:    vector.NewRasterizer(cfg.Width, cfg.Height),
			ink:  image.NewAlpha(r),
			grey: image.NewAlpha(r),
			img:  image.NewGray(r),
		}
	}
	return m, nil
}

// New makes a challenge from the randomness of rnd (32 bytes are read).
func (m *Maker) New(rnd io.Reader) (Challenge, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return Challenge{}, fmt.Errorf("captcha: randomness: %w", err)
	}
	r := rand.New(rand.NewChaCha8(seed))
	w, h := m.cfg.Width, m.cfg.Height

	answer := make([]byte, m.cfg.Length)
	for i := range answer {
		answer[i] = Alphabet[r.IntN(len(Alphabet))]
	}

	d := m.canvas.Get().(*drawing)
	defer m.canvas.Put(d)
	clear(d.ink.Pix)
	clear(d.grey.Pix)
	if m.cfg.Plain {
		m.plain(d, answer)
	} else {
		m.distorted(d, r, answer)
	}
	compose(d, r, m.cfg.Plain)

	var buf bytes.Buffer
	buf.Grow(w * h)
	if err := m.enc.Encode(&buf, d.img); err != nil {
		return Challenge{}, fmt.Errorf("captcha: png: %w", err)
	}
	return Challenge{Answer: string(answer), PNG: buf.Bytes(), Width: w, Height: h}, nil
}

// Check reports whether response answers the challenge whose answer is
// answer: case and white space do not matter. The comparison takes the
// same time wherever the first wrong character is (only a wrong length,
// which every challenge shares, returns early).
func Check(answer, response string) bool {
	a, b := normal(answer), normal(response)
	if len(a) == 0 {
		return false // an empty answer is no challenge; refuse rather than accept ""
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Normal is an answer or a response as Check compares them: upper-cased,
// without white space. A server that keeps a MAC of the answer rather
// than the answer checks a response by the MAC of its Normal form.
func Normal(s string) string { return normal(s) }

// normal upper-cases s and drops its white space.
func normal(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

// drawing is what a challenge is drawn into: ink, the coverage of the
// text's colour (characters and the strokes that cross them), and grey,
// the coverage of lighter distractors; img, the picture they make.
type drawing struct {
	z         *vector.Rasterizer
	ink, grey *image.Alpha
	img       *image.Gray
}

// fill draws the polygons, in one pass (a glyph's holes are contours of
// their own), over what dst has. Shapes go in separate calls so that where
// they overlap they add up instead of cancelling where windings differ.
func (d *drawing) fill(dst *image.Alpha, polys [][]pt) {
	b := dst.Bounds()
	d.z.Reset(b.Dx(), b.Dy())
	for _, p := range polys {
		d.z.MoveTo(p[0].x, p[0].y)
		for _, q := range p[1:] {
			d.z.LineTo(q.x, q.y)
		}
		d.z.ClosePath()
	}
	d.z.Draw(dst, b, image.Opaque, image.Point{})
}

// plain lays the characters out as a printer would.
func (m *Maker) plain(d *drawing, answer []byte) {
	w, h := float32(m.cfg.Width), float32(m.cfg.Height)
	em := min(h*0.6, w/float32(len(answer))*1.2)
	step := (w - em) / float32(len(answer))
	for i, c := range answer {
		g := m.glyphs[0][strings.IndexByte(Alphabet, c)]
		at := pt{em/2 + step*(float32(i)+0.5), h / 2}
		d.fill(d.ink, place(g, at, em, 0, 0, nil))
	}
}

// distorted draws the characters crowded, each in its own font, size and
// angle, then bends the whole through one wave, and crosses it with
// strokes a little thinner than the characters' own.
func (m *Maker) distorted(d *drawing, r *rand.Rand, answer []byte) {
	w, h := float32(m.cfg.Width), float32(m.cfg.Height)
	n := float32(len(answer))
	em := min(h*0.62, w/(n*0.64+0.9))
	step := em * (0.62 + 0.06*r.Float32()) // about a glyph's width: they touch
	left := (w-step*(n-1))/2 + (r.Float32()-0.5)*(w-step*(n-1)-em)*0.5
	wv := newWave(r, w, h)

	for i, c := range answer {
		g := m.glyphs[r.IntN(len(m.glyphs))][strings.IndexByte(Alphabet, c)]
		size := em * (0.82 + 0.3*r.Float32())
		at := pt{left + step*float32(i) + (r.Float32()-0.5)*step*0.2, h/2 + (r.Float32()-0.5)*h*0.22}
		rot := (r.Float32() - 0.5) * 0.6 // about ±17°
		shear := (r.Float32() - 0.5) * 0.4
		d.fill(d.ink, place(g, at, size, rot, shear, wv))
	}

	// Strokes in the ink through the text: OCR cannot tell them from the
	// characters' own strokes, people follow them as lines.
	thick := em * 0.06
	var strokes [][]pt
	for range 1 + r.IntN(2) {
		strokes = append(strokes, wv.apply(stroke(curve(r, left-em/2, left+step*(n-1)+em/2, h), thick*(0.6+0.4*r.Float32()))))
	}
	for range 1 {
		cx, cy := left+r.Float32()*step*(n-1), h*(0.3+0.4*r.Float32())
		strokes = append(strokes, wv.apply(stroke(arc(r, cx, cy, em*(0.3+0.4*r.Float32())), thick*(0.5+0.4*r.Float32()))))
	}
	for _, s := range strokes {
		d.fill(d.ink, [][]pt{s})
	}

	// Lighter distractors all over: people see them as background, a
	// binarising OCR as more ink.
	var grey [][]pt
	for range 5 + r.IntN(4) {
		a := pt{r.Float32() * w, r.Float32() * h}
		b := pt{r.Float32() * w, r.Float32() * h}
		mid := pt{(a.x+b.x)/2 + (r.Float32()-0.5)*h, (a.y+b.y)/2 + (r.Float32()-0.5)*h}
		grey = append(grey, stroke(bezier(a, mid, b), 0.6+r.Float32()*1.2))
	}
	for _, s := range grey {
		d.fill(d.grey, [][]pt{s})
	}
}

// place scales g to size px per em, shears, rotates it by rot radians
// about its centre, puts that centre at at, and bends it through wv (when
// not nil).
func place(g glyph, at pt, size, rot, shear float32, wv *wave) [][]pt {
	sin, cos := float32(math.Sin(float64(rot))), float32(math.Cos(float64(rot)))
	out := make([][]pt, len(g.contours))
	for i, c := range g.contours {
		q := make([]pt, len(c))
		for j, p := range c {
			x, y := (p.x-g.mid.x)*size, (p.y-g.mid.y)*size
			x += shear * y
			q[j] = pt{at.x + x*cos - y*sin, at.y + x*sin + y*cos}
		}
		out[i] = wv.apply(q)
	}
	return out
}

// wave is a smooth displacement of the whole picture: two sines across,
// two down, at random phases.
type wave struct{ ax, fx, px, ay, fy, py float32 }

func newWave(r *rand.Rand, w, h float32) *wave {
	tau := float32(2 * math.Pi)
	return &wave{
		ax: h * (0.03 + 0.03*r.Float32()), fx: tau / (h * (0.9 + 0.6*r.Float32())), px: r.Float32() * tau,
		ay: h * (0.05 + 0.04*r.Float32()), fy: tau / (w * (0.4 + 0.3*r.Float32())), py: r.Float32() * tau,
	}
}

// apply bends ps in place and returns them.
func (wv *wave) apply(ps []pt) []pt {
	if wv == nil {
		return ps
	}
	for i, p := range ps {
		ps[i] = pt{
			p.x + wv.ax*float32(math.Sin(float64(p.y*wv.fx+wv.px))),
			p.y + wv.ay*float32(math.Sin(float64(p.x*wv.fy+wv.py))),
		}
	}
	return ps
}

// curve is a wavy line across the text from x0 to x1.
func curve(r *rand.Rand, x0, x1, h float32) []pt {
	const n = 24
	y0, y1 := h*(0.25+0.5*r.Float32()), h*(0.25+0.5*r.Float32())
	amp, freq, ph := h*(0.05+0.12*r.Float32()), float32(1+2*r.Float32())*math.Pi/(x1-x0), r.Float32()*2*math.Pi
	ps := make([]pt, n+1)
	for i := range ps {
		t := float32(i) / n
		x := x0 + t*(x1-x0)
		ps[i] = pt{x, y0 + t*(y1-y0) + amp*float32(math.Sin(float64((x-x0)*freq+ph)))}
	}
	return ps
}

// arc is part of a circle about (cx, cy).
func arc(r *rand.Rand, cx, cy, rad float32) []pt {
	const n = 16
	a0 := r.Float64() * 2 * math.Pi
	span := (0.6 + 0.8*r.Float64()) * math.Pi
	ps := make([]pt, n+1)
	for i := range ps {
		a := a0 + span*float64(i)/n
		ps[i] = pt{cx + rad*float32(math.Cos(a)), cy + rad*float32(math.Sin(a))}
	}
	return ps
}

// bezier is a quadratic curve from a to c bent towards b.
func bezier(a, b, c pt) []pt {
	const n = 16
	ps := make([]pt, n+1)
	for i := range ps {
		t := float32(i) / n
		u := 1 - t
		ps[i] = pt{u*u*a.x + 2*u*t*b.x + t*t*c.x, u*u*a.y + 2*u*t*b.y + t*t*c.y}
	}
	return ps
}

// stroke is the outline of the line through ps, width px thick: one side
// there, the other back.
func stroke(ps []pt, width float32) []pt {
	out := make([]pt, 2*len(ps))
	for i := range ps {
		a, b := ps[max(i-1, 0)], ps[min(i+1, len(ps)-1)]
		dx, dy := b.x-a.x, b.y-a.y
		l := float32(math.Hypot(float64(dx), float64(dy)))
		if l == 0 {
			l = 1
		}
		nx, ny := -dy/l*width/2, dx/l*width/2
		out[i] = pt{ps[i].x + nx, ps[i].y + ny}
		out[len(out)-1-i] = pt{ps[i].x - nx, ps[i].y - ny}
	}
	return out
}

// compose paints the background, the grey distractors and the ink into a
// grey-scale picture, d.img, with noise throughout unless plain.
func compose(d *drawing, r *rand.Rand, plain bool) {
	img := d.img
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if plain {
		for i, a := range d.ink.Pix {
			img.Pix[i] = 255 - a
		}
		return
	}
	bg0, bg1 := 200+r.IntN(40), 200+r.IntN(40) // a gradient left to right
	fg := 20 + r.IntN(50)
	greyTone := 120 + r.IntN(50)
	var bits uint64
	for y := range h {
		for x := range w {
			if x%8 == 0 {
				bits = r.Uint64()
			}
			noise := int(bits&0x3f) - 32 // ±32: grain OCR has to filter
			bits >>= 8
			i := y*img.Stride + x
			v := bg0 + (bg1-bg0)*x/w + noise
			if g := int(d.grey.Pix[i]); g > 0 {
				v += (greyTone - v) * g / 255
			}
			if a := int(d.ink.Pix[i]); a > 0 {
				v += (fg + noise/2 - v) * a / 255
			}
			img.Pix[i] = uint8(max(0, min(255, v)))
		}
	}
	// Specks of ink: salt on the text, pepper around it.
	for range w * h / 150 {
		i := r.IntN(len(img.Pix))
		if r.IntN(2) == 0 {
			img.Pix[i] = uint8(fg)
		} else {
			img.Pix[i] = uint8(bg0)
		}
	}
}
