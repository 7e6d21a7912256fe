package visible

import "testing"

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"\u202eadmin\u200b", "admin"},                         // override, zero-width space
		{"a\u202ab\u202bc\u202cd\u202de\u202ef", "abcdef"},     // embeddings, pop, overrides
		{"a\u2066b\u2067c\u2068d\u2069e", "abcde"},             // isolates
		{"a\u200bb\u200ec\u200fd\ufeffe", "abcde"},             // zero-width space, LRM, RLM, BOM
		{"ad\u200dmin\u200c", "admin"},                         // joiners that join nothing
		{"\u200d👩", "👩"},                                       // a joiner at the start
		{"👩\u200d", "👩"},                                       // and at the end
		{"👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"},                 // an emoji sequence keeps its joiners
		{"می\u200cخواهم", "می\u200cخواهم"},                     // Persian keeps its non-joiner
		{"👩\u200d\u200b\u200d👧", "👩\u200d👧"},                   // one joiner of a run held, the space dropped
		{"x\u200d👩", "x👩"},                                     // an ASCII side: dropped
		{"tab\there\nnew\x00line\x7f\u0085", "tabherenewline"}, // controls, C1 too
		{"line\u2028para\u2029end\u00adsoft\u061cmark", "lineparaendsoftmark"},
		{"\xff\xfebad", "bad"},
		{"", ""},
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBuilderLen(t *testing.T) {
	var b Builder
	for _, r := range "é\u200d\u202eà\u200d" {
		b.WriteRune(r)
	}
	if b.Len() != 3 || b.String() != "é\u200dà" {
		t.Errorf("Len %d, String %q; want 3, %q", b.Len(), b.String(), "é\u200dà")
	}
}
