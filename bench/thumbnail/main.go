// Command thumbnail measures the thumbnailer against ImageMagick on the same
// files: a 12-megapixel JPEG, a 4-megapixel JPEG and a 2000x2000 PNG of
// photo-like content (smooth gradients, shapes and noise), made the same
// way on every run.
//
//	go run ./bench/thumbnail [-n 10] [-convert /usr/bin/convert]
//
// For each file the thumbnailer runs in a child process of its own (this
// program again, with -child), so that the child's peak RSS is that file's;
// the child makes one thumbnail per line it reads, and its runs alternate
// with ImageMagick's (`convert FILE -thumbnail 250x250 OUT.jpg`, one process
// each) so that a noisy machine slows both alike. After one warm-up run of
// each, it prints the median time per image of n runs: in-process for the
// thumbnailer (read, decode, resize, encode), the whole process for
// ImageMagick, which is what each costs a server.
//
// Targets: at most ImageMagick's time on the PNG and the 4 MP JPEG, at most
// 1.2 times it on the 12 MP JPEG, at most 250 MB peak RSS on the 12 MP
// JPEG. Exit status 0 when all are met, 1 when not, 2 on a setup failure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/maniwani/maniwani/thumbnailer"
)

// input is one benchmark file and its targets.
type input struct {
	name     string
	w, h     int
	ext      string
	maxRatio float64 // of the thumbnailer's time to ImageMagick's
	maxRSSMB float64 // 0: not a target
}

// inputs are the files measured, with the targets.
func inputs() []input {
	return []input{
		{"12mp.jpg", 4000, 3000, ".jpg", 1.2, 250},
		{"4mp.jpg", 2309, 1732, ".jpg", 1.0, 0},
		{"2000x2000.png", 2000, 2000, ".png", 1.0, 0},
	}
}

// result is what one file measured.
type result struct {
	in               input
	goMS, imMS       float64
	goRSSMB, imRSSMB float64
}

func main() {
	n := flag.Int("n", 10, "timed runs of each tool per file, after one warm-up")
	dir := flag.String("dir", "", "where the input files are made (default: a temporary directory, removed after)")
	convert := flag.String("convert", "", "ImageMagick's convert (default: the first convert or convert-im6.q16 that is ImageMagick)")
	child := flag.String("child", "", "internal: thumbnail this file once per line read on stdin")
	gen := flag.String("gen", "", "internal: make the input files in this directory")
	flag.Parse()
	if *gen != "" {
		for _, in := range inputs() {
			if err := writeInput(filepath.Join(*gen, in.name), in); err != nil {
				fmt.Fprintln(os.Stderr, "thumbnail gen:", err)
				os.Exit(1)
			}
		}
		return
	}
	if *child != "" {
		if err := runChild(*child); err != nil {
			fmt.Fprintln(os.Stderr, "thumbnail child:", err)
			os.Exit(1)
		}
		return
	}
	ok, err := run(*n, *dir, *convert)
	if err != nil {
		fmt.Fprintln(os.Stderr, "thumbnail bench:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(n int, dir, convert string) (bool, error) {
	if n < 1 {
		return false, errors.New("-n must be at least 1")
	}
	im, err := findImageMagick(convert)
	if err != nil {
		return false, err
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "maniwani-thumbnail-bench.")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	// The inputs are made by another process: on Linux a child's peak RSS
	// starts from its parent's (the exec happens in the parent's memory), so
	// this process stays small for ImageMagick's figures to be its own.
	gen := exec.Command(self, "-gen", dir)
	gen.Stdout, gen.Stderr = os.Stderr, os.Stderr
	if err := gen.Run(); err != nil {
		return false, fmt.Errorf("making the inputs: %w", err)
	}
	var self0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	fmt.Printf("inputs in %s; %d runs each after a warm-up; ImageMagick: %s; this process's peak RSS (the floor of the MB figures): %.1f MB\n",
		dir, n, im, float64(self0.Maxrss)/1024)
	var results []result
	for _, in := range inputs() {
		path := filepath.Join(dir, in.name)
		r, err := measure(self, im, path, dir, in, n)
		if err != nil {
			return false, fmt.Errorf("%s: %w", in.name, err)
		}
		results = append(results, r)
	}
	return report(os.Stdout, results), nil
}

// measure alternates the thumbnailer (in its child) and ImageMagick on one
// file, a warm-up and n timed runs each.
func measure(self, im, path, dir string, in input, n int) (result, error) {
	r := result{in: in}
	cmd := exec.Command(self, "-child", path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return r, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	goOnce := func() (time.Duration, error) {
		if _, err := io.WriteString(stdin, "go\n"); err != nil {
			return 0, err
		}
		if !lines.Scan() {
			return 0, fmt.Errorf("child stopped: %v", lines.Err())
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(lines.Text()), 10, 64)
		return time.Duration(ns), err
	}
	out := filepath.Join(dir, "im-out.jpg")
	var goTimes, imTimes []time.Duration
	var imRSS int64
	for i := 0; i <= n; i++ {
		gd, err := goOnce()
		if err != nil {
			return r, fmt.Errorf("thumbnailer: %w", err)
		}
		c := exec.Command(im, path, "-thumbnail", "250x250", out)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		start := time.Now()
		if err := c.Run(); err != nil {
			return r, fmt.Errorf("%s: %w: %s", im, err, stderr.String())
		}
		id := time.Since(start)
		imRSS = max(imRSS, c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		if i == 0 {
			continue // warm-up: page cache, code, the Go heap's first growth
		}
		goTimes = append(goTimes, gd)
		imTimes = append(imTimes, id)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("child: %w", err)
	}
	r.goMS, r.imMS = median(goTimes), median(imTimes)
	r.goRSSMB = float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KB on Linux
	r.imRSSMB = float64(imRSS) / 1024
	return r, nil
}

// runChild makes path's thumbnail once for each line on stdin and prints
// the nanoseconds each took.
func runChild(path string) error {
	ext := filepath.Ext(path)
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		start := time.Now()
		t, err := thumbnailer.Make(context.Background(), path, ext, thumbnailer.Options{})
		if err != nil {
			return err
		}
		d := time.Since(start)
		if len(t.JPEG) == 0 {
			return errors.New("empty thumbnail")
		}
		fmt.Fprintln(out, d.Nanoseconds())
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}

// report prints the table and tells whether every target is met.
func report(w io.Writer, rs []result) bool {
	all := true
	fmt.Fprintf(w, "\n%-14s %10s %10s %6s %8s %8s  %s\n", "image", "go ms", "im ms", "ratio", "go MB", "im MB", "target")
	for _, r := range rs {
		ratio := r.goMS / r.imMS
		met := ratio <= r.in.maxRatio && (r.in.maxRSSMB == 0 || r.goRSSMB <= r.in.maxRSSMB)
		all = all && met
		target := fmt.Sprintf("ratio <= %.1f", r.in.maxRatio)
		if r.in.maxRSSMB > 0 {
			target += fmt.Sprintf(", go MB <= %.0f", r.in.maxRSSMB)
		}
		verdict := "no"
		if met {
			verdict = "yes"
		}
		fmt.Fprintf(w, "%-14s %10.1f %10.1f %6.2f %8.1f %8.1f  %s (%s)\n",
			r.in.name, r.goMS, r.imMS, ratio, r.goRSSMB, r.imRSSMB, verdict, target)
	}
	fmt.Fprintln(w, "\nms: median per image; go in-process, ImageMagick per process. MB: peak RSS.")
	return all
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m) / float64(time.Millisecond)
}

// findImageMagick returns want, or the first of the usual names that is
// ImageMagick's own binary. Scripts are skipped: a wrapper named convert
// (this machine has one first on PATH) would add its interpreter's start to
// the baseline.
func findImageMagick(want string) (string, error) {
	cands := []string{want}
	if want == "" {
		cands = []string{"convert-im6.q16", "convert", "/usr/bin/convert-im6.q16", "/usr/bin/convert", "magick"}
	}
	for _, c := range cands {
		p, err := exec.LookPath(c)
		if err != nil || isScript(p) {
			continue
		}
		args := []string{"-version"}
		if filepath.Base(p) == "magick" {
			args = []string{"convert", "-version"}
		}
		out, err := exec.Command(p, args...).Output()
		if err == nil && bytes.Contains(out, []byte("ImageMagick")) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no ImageMagick binary among %v (scripts/tools.sh installs it)", cands)
}

func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, 2)
	_, err = io.ReadFull(f, head)
	return err != nil || string(head) == "#!"
}

// writeInput makes in's file at path: the same pixels and bytes every time.
func writeInput(path string, in input) error {
	m := photo(in.w, in.h, uint64(in.w)*31+uint64(in.h))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if in.ext == ".png" {
		err = png.Encode(bw, m)
	} else {
		err = jpeg.Encode(bw, m, &jpeg.Options{Quality: 90})
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// photo draws something that compresses like a photograph: smooth
// gradients (a sky, a ground), a few hard-edged discs (objects) and sensor
// noise, so that neither the codec nor the resize gets an easy case.
func photo(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x6d616e6977616e69))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	type disc struct {
		x, y, r2 float64
		c        [3]float64
	}
	discs := make([]disc, 12)
	for i := range discs {
		r := (0.03 + 0.12*rng.Float64()) * float64(min(w, h))
		discs[i] = disc{rng.Float64() * float64(w), rng.Float64() * float64(h), r * r,
			[3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}}
	}
	colX := make([][3]float64, w)
	for x := range w {
		t := float64(x) / float64(w)
		colX[x] = [3]float64{40 * math.Sin(6*t), 30 * math.Cos(4*t+1), 25 * math.Sin(9*t+2)}
	}
	for y := range h {
		t := float64(y) / float64(h)
		rowC := [3]float64{60 + 120*t, 90 + 80*t, 200 - 140*t}
		var active []disc
		for _, d := range discs {
			if dy := float64(y) - d.y; dy*dy < d.r2 {
				active = append(active, d)
			}
		}
		p := m.Pix[y*m.Stride:]
		for x := range w {
			c := [3]float64{rowC[0] + colX[x][0], rowC[1] + colX[x][1], rowC[2] + colX[x][2]}
			for _, d := range active {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if dd := dx*dx + dy*dy; dd < d.r2 {
					shade := 0.6 + 0.4*(1-dd/d.r2)
					c = [3]float64{d.c[0] * shade, d.c[1] * shade, d.c[2] * shade}
				}
			}
			for i := range 3 {
				v := c[i] + (rng.Float64()+rng.Float64()+rng.Float64()-1.5)*8
				p[x*4+i] = uint8(max(0, min(255, v)))
			}
			p[x*4+3] = 255
		}
	}
	return m
}
