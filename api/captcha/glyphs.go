package captcha

import (
	"fmt"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// pt is a point; in a glyph's outline its unit is the em, y down, the
// baseline at y = 0.
type pt struct{ x, y float32 }

// glyph is one character's outline flattened to polygons, so that any
// transform (the wave warp is not affine) applies to its points alone.
type glyph struct {
	contours [][]pt
	mid      pt // the centre of its bounding box
}

// faces are the fonts a challenge picks from, one per character: mixing
// them denies OCR a single set of shapes to match.
func faces() [][]byte {
	return [][]byte{goregular.TTF, gomedium.TTF, gobold.TTF, gobolditalic.TTF, gomonobold.TTF}
}

// loadGlyphs returns, for each face, the outline of each rune of alphabet.
func loadGlyphs(alphabet string) ([][]glyph, error) {
	const ppem = 1024 // precision of the outlines sfnt hands back
	var buf sfnt.Buffer
	var all [][]glyph
	for _, ttf := range faces() {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("captcha: font: %w", err)
		}
		var gs []glyph
		for _, r := range alphabet {
			idx, err := f.GlyphIndex(&buf, r)
			if err == nil && idx == 0 {
				err = fmt.Errorf("no glyph for %q", r)
			}
			if err != nil {
				return nil, fmt.Errorf("captcha: font: %w", err)
			}
			segs, err := f.LoadGlyph(&buf, idx, fixed.I(ppem), nil)
			if err != nil {
				return nil, fmt.Errorf("captcha: glyph %q: %w", r, err)
			}
			gs = append(gs, flatten(segs, 1.0/(ppem*64)))
		}
		all = append(all, gs)
	}
	return all, nil
}

// flatten turns an outline's curves into short lines, scaling 26.6
// coordinates by k.
func flatten(segs sfnt.Segments, k float32) glyph {
	const steps = 6 // per curve: smooth at the sizes drawn
	var g glyph
	var cur []pt
	p := func(a fixed.Point26_6) pt { return pt{float32(a.X) * k, float32(a.Y) * k} }
	var last pt
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if len(cur) > 2 {
				g.contours = append(g.contours, cur)
			}
			last = p(s.Args[0])
			cur = []pt{last}
		case sfnt.SegmentOpLineTo:
			last = p(s.Args[0])
			cur = append(cur, last)
		case sfnt.SegmentOpQuadTo:
			b, c := p(s.Args[0]), p(s.Args[1])
			for i := 1; i <= steps; i++ {
				t := float32(i) / steps
				u := 1 - t
				cur = append(cur, pt{u*u*last.x + 2*u*t*b.x + t*t*c.x, u*u*last.y + 2*u*t*b.y + t*t*c.y})
			}
			last = c
		case sfnt.SegmentOpCubeTo:
			b, c, d := p(s.Args[0]), p(s.Args[1]), p(s.Args[2])
			for i := 1; i <= steps; i++ {
				t := float32(i) / steps
				u := 1 - t
				cur = append(cur, pt{
					u*u*u*last.x + 3*u*u*t*b.x + 3*u*t*t*c.x + t*t*t*d.x,
					u*u*u*last.y + 3*u*u*t*b.y + 3*u*t*t*c.y + t*t*t*d.y,
				})
			}
			last = d
		}
	}
	if len(cur) > 2 {
		g.contours = append(g.contours, cur)
	}
	lo, hi := pt{1e9, 1e9}, pt{-1e9, -1e9}
	for _, c := range g.contours {
		for _, q := range c {
			lo.x, lo.y = min(lo.x, q.x), min(lo.y, q.y)
			hi.x, hi.y = max(hi.x, q.x), max(hi.y, q.y)
		}
	}
	g.mid = pt{(lo.x + hi.x) / 2, (lo.y + hi.y) / 2}
	return g
}
