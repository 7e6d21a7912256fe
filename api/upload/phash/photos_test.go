package phash

import (
	"image"
	"math"
	"math/rand/v2"
)

// photo is a made-up picture with the statistics of a photograph, as
// seed picks it: a lit gradient (sky and ground), fractal noise whose
// amplitude falls with frequency as a photo's does, soft blobs at several
// scales, a few hard-edged shapes, some striped, and sensor noise.
func photo(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var planes [3][]float64
	for c := range planes {
		planes[c] = make([]float64, w*h)
	}
	colour := func() [3]float64 {
		return [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	}

	// Light: two colours blended along a random direction.
	c0, c1 := colour(), colour()
	angle := r.Float64() * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	for y := range h {
		for x := range w {
			t := 0.5 + (dx*(float64(x)/float64(w)-0.5)+dy*(float64(y)/float64(h)-0.5))*0.9
			for c := range 3 {
				planes[c][y*w+x] = c0[c]*(1-t) + c1[c]*t
			}
		}
	}

	// Fractal noise: value noise at halving cell sizes, amplitude in
	// proportion to the cell, tinted along one random colour and a little
	// in each channel on its own.
	tint := colour()
	for cell := w / 2; cell >= 2; cell /= 2 {
		amp := 60 * math.Pow(float64(cell)/float64(w/2), 0.6)
		gw, gh := w/cell+2, h/cell+2
		grid := make([]float64, gw*gh*4)
		for i := range grid {
			grid[i] = r.Float64()*2 - 1
		}
		for y := range h {
			fy := float64(y) / float64(cell)
			iy, ty := int(fy), fy-math.Floor(fy)
			ty = ty * ty * (3 - 2*ty)
			for x := range w {
				fx := float64(x) / float64(cell)
				ix, tx := int(fx), fx-math.Floor(fx)
				tx = tx * tx * (3 - 2*tx)
				for k := range 4 {
					at := func(i, j int) float64 { return grid[(j*gw+i)*4+k] }
					v := (at(ix, iy)*(1-tx)+at(ix+1, iy)*tx)*(1-ty) + (at(ix, iy+1)*(1-tx)+at(ix+1, iy+1)*tx)*ty
					if k == 3 {
						for c := range 3 {
							planes[c][y*w+x] += amp * v * (tint[c]/255 - 0.5) * 2
						}
					} else {
						planes[k][y*w+x] += amp * v * 0.3
					}
				}
			}
		}
	}

	// Blobs: separable Gaussians, blended over what is there.
	for range 6 + r.IntN(14) {
		sigma := float64(w) * (0.02 + 0.25*r.Float64()*r.Float64())
		cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
		col, opacity := colour(), 0.4+0.6*r.Float64()
		gx, gy := make([]float64, w), make([]float64, h)
		for x := range w {
			d := (float64(x) - cx) / sigma
			gx[x] = math.Exp(-d * d / 2)
		}
		for y := range h {
			d := (float64(y) - cy) / sigma
			gy[y] = math.Exp(-d * d / 2)
		}
		for y := range h {
			if gy[y] < 1e-3 {
				continue
			}
			for x := range w {
				a := opacity * gx[x] * gy[y]
				for c := range 3 {
					p := &planes[c][y*w+x]
					*p += (col[c] - *p) * a
				}
			}
		}
	}

	// Shapes: rectangles and ellipses with hard edges.
	for range 2 + r.IntN(5) {
		x0, y0 := r.IntN(w), r.IntN(h)
		x1, y1 := min(w, x0+w/20+r.IntN(w/3)), min(h, y0+h/20+r.IntN(h/3))
		col, opacity, round := colour(), 0.5+0.5*r.Float64(), r.IntN(2) == 0
		// Half of them are striped, as fabric or foliage is.
		period, stripes := 2+10*r.Float64(), 40*float64(r.IntN(2))
		sa := r.Float64() * math.Pi
		sx, sy := math.Cos(sa)*2*math.Pi/period, math.Sin(sa)*2*math.Pi/period
		cx, cy := float64(x0+x1)/2, float64(y0+y1)/2
		rx, ry := float64(x1-x0)/2, float64(y1-y0)/2
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if round {
					ex, ey := (float64(x)-cx)/rx, (float64(y)-cy)/ry
					if ex*ex+ey*ey > 1 {
						continue
					}
				}
				s := stripes * math.Sin(sx*float64(x)+sy*float64(y))
				for c := range 3 {
					p := &planes[c][y*w+x]
					*p += (col[c] + s - *p) * opacity
				}
			}
		}
	}

	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		for c := range 3 {
			v := planes[c][i] + r.NormFloat64()*3
			m.Pix[4*i+c] = uint8(max(0, min(255, math.Round(v))))
		}
		m.Pix[4*i+3] = 255
	}
	return m
}
