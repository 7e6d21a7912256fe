package lru

import (
	"testing"
	"time"
)

// Entries expire at their time, the least recently used goes first past
// the bound, and a Put in place refreshes both value and expiry.
func TestCache(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c := New[string](2)
	c.Put("a", "1", t0.Add(time.Minute))
	c.Put("b", "2", t0.Add(time.Minute))
	if v, ok := c.Get("a", t0); !ok || v != "1" {
		t.Fatalf("a: %q %v", v, ok)
	}
	c.Put("c", "3", t0.Add(time.Minute)) // b is the least recently used
	if _, ok := c.Get("b", t0); ok {
		t.Error("b kept past the bound, though a was used after it")
	}
	if c.Len() != 2 {
		t.Errorf("%d entries, want 2", c.Len())
	}
	if _, ok := c.Get("a", t0.Add(time.Minute)); ok {
		t.Error("a answered at its expiry")
	}
	c.Put("c", "4", t0.Add(2*time.Minute))
	if v, ok := c.Get("c", t0.Add(90*time.Second)); !ok || v != "4" {
		t.Errorf("c after a Put in place: %q %v", v, ok)
	}
	c.Remove("c")
	if _, ok := c.Get("c", t0); ok || c.Len() != 0 {
		t.Errorf("after Remove: %v, %d entries", ok, c.Len())
	}
}
