// Package captchatest lets a test read the answer of the captcha a server
// made, as a person reads the image: by drawing the same image again.
// The server has no door that tells an answer.
package captchatest

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/maniwani/maniwani/api/captcha"
)

// Seeds is a server's captcha randomness in a test: random, but it keeps
// what the last challenge was made from.
type Seeds struct {
	mu    sync.Mutex
	last  []byte
	maker *captcha.Maker
}

// NewSeeds makes Seeds, with a Maker of the default config to read its
// challenges' answers.
func NewSeeds(t testing.TB) *Seeds {
	t.Helper()
	m, err := captcha.NewMaker(captcha.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &Seeds{maker: m}
}

func (r *Seeds) Read(p []byte) (int, error) {
	rand.Read(p)
	r.mu.Lock()
	r.last = append([]byte(nil), p...)
	r.mu.Unlock()
	return len(p), nil
}

// Answer is the answer of the last challenge made.
func (r *Seeds) Answer(t testing.TB) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.maker.New(bytes.NewReader(r.last))
	if err != nil {
		t.Fatal(err)
	}
	return c.Answer
}
