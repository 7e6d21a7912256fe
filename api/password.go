package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"

	"github.com/maniwani/maniwani"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a staff password with argon2id into the PHC string
// format, which carries its own parameters and salt.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword tells whether password matches a hash made by HashPassword,
// in time that does not depend on where they differ.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, t uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// hashWait bounds how long a password check waits for a free hasher
// before the answer is a 503.
const hashWait = time.Second

// hashGate bounds the argon2id hashes that run at once: each holds 19 MiB
// and a core while it runs, so more at once than there are cores only
// piles up memory.
type hashGate struct {
	sem *semaphore.Weighted
	n   int64
}

func newHashGate(n int) hashGate {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return hashGate{sem: semaphore.NewWeighted(int64(n)), n: int64(n)}
}

// do runs fn once a hasher is free, waiting at most hashWait; past that it
// gives up with a refusal for now (unavailable, retry in a second).
func (g hashGate) do(ctx context.Context, fn func()) error {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	if err := g.sem.Acquire(ctx, 1); err != nil {
		return &maniwani.RetryLater{After: time.Second, Err: maniwani.Errorf(maniwani.KindUnavailable,
			"The server is busy checking other passwords; try again in a second.")}
	}
	defer g.sem.Release(1)
	fn()
	return nil
}
