package upload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// scanner reads a file front to back for the walks, knowing where it is.
// Skips past its buffer seek rather than read, so a walk over a large video
// reads little more than the headers.
type scanner struct {
	sec  *io.SectionReader
	r    *bufio.Reader
	off  int64 // bytes consumed
	size int64
}

func newScanner(ra io.ReaderAt, size int64) *scanner {
	sec := io.NewSectionReader(ra, 0, size)
	return &scanner{sec: sec, r: bufio.NewReaderSize(sec, 32<<10), size: size}
}

// short is the error for a read past the end: the file is cut short.
func (s *scanner) short(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == bufio.ErrBufferFull {
		return damaged("cut short at byte %d of %d", s.off, s.size)
	}
	return err
}

func (s *scanner) left() int64 { return s.size - s.off }

func (s *scanner) byte() (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, s.short(err)
	}
	s.off++
	return b, nil
}

func (s *scanner) full(p []byte) error {
	n, err := io.ReadFull(s.r, p)
	s.off += int64(n)
	if err != nil {
		return s.short(err)
	}
	return nil
}

// peek returns the next n bytes (n at most 32 KiB) without consuming them.
func (s *scanner) peek(n int) ([]byte, error) {
	p, err := s.r.Peek(n)
	if err != nil {
		return nil, s.short(err)
	}
	return p, nil
}

// skip moves n bytes on; past the end is a cut-short file.
func (s *scanner) skip(n int64) error {
	switch {
	case n < 0:
		return damaged("a length runs backwards at byte %d", s.off)
	case n > s.left():
		return damaged("cut short: %d bytes wanted at byte %d of %d", n, s.off, s.size)
	case n <= int64(s.r.Buffered()):
		s.r.Discard(int(n))
	default:
		if _, err := s.sec.Seek(s.off+n, io.SeekStart); err != nil {
			return err
		}
		s.r.Reset(s.sec)
	}
	s.off += n
	return nil
}

// seek moves on to off, which must not be behind.
func (s *scanner) seek(off int64) error { return s.skip(off - s.off) }

// feed writes the next n bytes to w (a hash) without a copy.
func (s *scanner) feed(n int64, w io.Writer) error {
	if n > s.left() {
		return s.skip(n)
	}
	for n > 0 {
		p, err := s.r.Peek(int(min(n, int64(s.r.Size()))))
		if err != nil {
			return s.short(err)
		}
		w.Write(p)
		s.r.Discard(len(p))
		s.off += int64(len(p))
		n -= int64(len(p))
	}
	return nil
}

// through consumes up to and including the next byte c.
func (s *scanner) through(c byte) error {
	for {
		p, err := s.r.ReadSlice(c)
		s.off += int64(len(p))
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return s.short(err)
		}
	}
}

// end checks that the walk has reached the end of the file. Zero bytes
// after it are padding some writers add; anything else could be a second
// file (an archive after an image) riding along.
func (s *scanner) end() error {
	for s.off < s.size {
		p, err := s.r.Peek(int(min(s.left(), int64(s.r.Size()))))
		if err != nil {
			return s.short(err)
		}
		for i, b := range p {
			if b != 0 {
				return &flaw{whyTrailing, fmt.Errorf("%d bytes after the end at byte %d, non-zero at byte %d", s.size-s.off, s.off, s.off+int64(i))}
			}
		}
		s.r.Discard(len(p))
		s.off += int64(len(p))
	}
	return nil
}
