package api

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSimilarMatch is the comparison of an upload's hash with 10,000
// similar bans, none of them near it: the whole list is scanned.
func BenchmarkSimilarMatch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	l := &similarList{bans: make([]similarBan, 10000)}
	for i := range l.bans {
		l.bans[i] = similarBan{hash: r.Uint64() | 1<<63, id: int64(i)}
	}
	h := uint64(0x5555) // about half the bits of every ban's away
	for b.Loop() {
		if l.match(h) != nil {
			b.Fatal("matched")
		}
	}
}
