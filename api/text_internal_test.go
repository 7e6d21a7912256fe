package api

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// controls is a reader of n control characters.
type controls struct{ n int64 }

func (c *controls) Read(p []byte) (int, error) {
	if c.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.n)]
	for i := range p {
		p[i] = 1
	}
	c.n -= int64(len(p))
	return len(p), nil
}

// A field is cleaned as it is read: 8 MiB of control characters between
// two words cost a few KB, not the field's size, and the words are kept.
func TestReadTextStreams(t *testing.T) {
	const n = 8 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := readText(io.MultiReader(strings.NewReader("HEAD"), &controls{n: n}, strings.NewReader("TAIL")),
		textField{"comment", MaxComment, bodyText})
	runtime.ReadMemStats(&after)
	if err != nil || got != "HEADTAIL" {
		t.Fatalf("got %q, %v; want HEADTAIL", got, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading %d bytes of control characters allocated %d bytes", n, grew)
	}
}

// Once its clean text passes the limit, a field is refused and no more of
// it is read.
func TestReadTextStopsAtLimit(t *testing.T) {
	for _, f := range []textField{{"comment", MaxComment, bodyText}, {"name", MaxName, lineText}, {"password", MaxPassword, rawText}} {
		src := strings.NewReader(strings.Repeat("é", 1<<20))
		_, err := readText(src, f)
		if want := fmt.Sprintf("The %s is over the limit of %d characters.", f.what, f.max); err == nil || err.Error() != want {
			t.Errorf("%s: %v", f.what, err)
		}
		if read := src.Size() - int64(src.Len()); read > 8<<10 {
			t.Errorf("%s: %d bytes read of a field refused at %d characters", f.what, read, f.max)
		}
	}
}
