package markdown

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// FuzzRender renders anything and holds the renderer to:
//   - no panic (it calls the renderer without the recover that Render has);
//   - inert output: checkHTML, so no < of the input reaches the output but
//     escaped, and the only markup is the renderer's own;
//   - every < of the input is in the output, as text (when no fence
//     info string, which is dropped, could have held it);
//   - no text lost: the digits of the input are all in the output's text
//     (same proviso);
//   - Refs agrees with the renderer: with exactly Refs and BoardRefs
//     resolved, the posts linked are exactly Refs, and no quote is dead
//     but of post 0 or of a number past int64;
//   - the same input renders the same;
//   - RequoteBody and RequoteCom agree (checkRequote).
//
// Crashers found are kept in testdata/fuzz/FuzzRender and run by go test.
func FuzzRender(f *testing.F) {
	for _, tc := range renderCases {
		f.Add(tc.body)
	}
	for _, v := range xssVectors(f) {
		f.Add(v)
	}
	f.Add(typicalPost)
	p := newParser()
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 16<<10 {
			t.Skip("longer than any post")
		}
		in := testInput(body)
		slow := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("slow render of %d bytes: %q", len(body), body)) })
		defer slow.Stop()
		out := renderHTML(p, &in)
		if err := checkHTML(out); err != nil {
			t.Fatalf("Render(%q) = %s\n%v", body, out, err)
		}
		norm := normalize(body)
		if !strings.ContainsAny(norm, "`~") {
			visible := visibleText(out)
			if a, b := strings.Count(norm, "<"), strings.Count(visible, "<"); a != b {
				t.Fatalf("Render(%q) = %s\n%d < typed, %d shown", body, out, a, b)
			}
			if a, b := countDigits(norm), countDigits(visible); a != b {
				t.Fatalf("Render(%q) = %s\n%d digits typed, %d shown", body, out, a, b)
			}
		}
		if again := renderHTML(p, &in); again != out {
			t.Fatalf("Render(%q) twice: %s, then %s", body, out, again)
		}
		checkRefs(t, body)
		checkRequote(t, body)
	})
}

func countDigits(s string) (n int) {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

var (
	linkedRE = regexp.MustCompile(`<a href="/([a-z0-9]+)/thread/1#p([0-9]+)" class="quotelink">`)
	deadRE   = regexp.MustCompile(`<span class="deadlink">(.*?)</span>`)
)

// checkRefs renders body on /b/ with every ref of Refs in thread 1 and
// every board of BoardRefs existing, and compares.
func checkRefs(t *testing.T, body string) {
	t.Helper()
	refs := Refs("b", body)
	in := maniwani.RenderInput{Board: "b", Body: normalize(body), Threads: map[maniwani.Ref]int64{}, Boards: map[string]bool{}}
	for _, r := range refs {
		in.Threads[r] = 1
	}
	for _, b := range BoardRefs(body) {
		in.Boards[b] = true
	}
	out := renderHTML(sharedParser(), &in)
	var linked []maniwani.Ref
	for _, m := range linkedRE.FindAllStringSubmatch(out, -1) {
		no, _ := strconv.ParseInt(m[2], 10, 64)
		if r := (maniwani.Ref{Board: m[1], No: no}); !slices.Contains(linked, r) {
			linked = append(linked, r)
		}
	}
	if !slices.Equal(linked, refs) {
		t.Fatalf("body %q: Refs %v, linked %v\n%s", body, refs, linked, out)
	}
	for _, m := range deadRE.FindAllStringSubmatch(out, -1) {
		typed := html.UnescapeString(m[1])
		num := typed[strings.LastIndexAny(typed, ">/")+1:]
		if no, err := strconv.ParseInt(num, 10, 64); err == nil && no > 0 {
			t.Fatalf("body %q: %q is dead though Refs has it resolved\n%s", body, typed, out)
		}
	}
}
