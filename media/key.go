package media

import (
	"strings"

	"github.com/maniwani/maniwani"
)

// CheckKey tells whether key is a valid FileStore key: slash-separated
// segments of [a-z0-9._-], none empty, "." or "..". Every store checks keys
// with it so that a key means the same blob on disk and in S3, and never
// reaches outside the store's directory.
func CheckKey(key string) error {
	if key == "" || len(key) > 512 {
		return maniwani.Errorf(maniwani.KindInvalid, "invalid storage key %q", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return maniwani.Errorf(maniwani.KindInvalid, "invalid storage key %q", key)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return maniwani.Errorf(maniwani.KindInvalid, "invalid storage key %q", key)
			}
		}
	}
	return nil
}
