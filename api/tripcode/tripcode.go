// Package tripcode computes imageboard tripcodes from the name field:
// "name#password" gives a classic tripcode, the same on every board that
// uses the 2channel/futaba/4chan algorithm; "name##password" gives a secure
// tripcode keyed by this server's secret, so it cannot be brute-forced
// offline but means nothing elsewhere.
package tripcode

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"
)

// Classic returns the classic tripcode of password, without the leading
// "!": the last ten characters of DES crypt(3) of the password, salted with
// its second and third characters.
//
// The password is first encoded as other boards see it, so that the same
// password gives the same tripcode here and there:
//   - &, <, > and " are HTML-escaped as 4chan does before hashing (&amp;
//     &lt; &gt; &quot;), because its tripcode runs on the escaped name;
//   - non-ASCII characters are converted to Shift_JIS (Windows-31J), as
//     2channel and futaba read the form in that encoding; a character with
//     no Shift_JIS code (emoji, most non-Japanese scripts) is hashed as its
//     UTF-8 bytes. 4chan substitutes '?' there instead, which would make
//     every such password collide, so those tripcodes differ from 4chan's.
//
// crypt reads only the first eight bytes of the encoded password. An empty
// password is hashed with the salt "..", which matches Wakaba's "#" tripcode.
func Classic(password string) string {
	var buf [16]byte
	n := classicKey(&buf, password)

	// salt = (key + "H.")[1:3]; the extra '.' covers the empty password.
	const pad = "H.."
	var salt [2]byte
	for i := range salt {
		var c byte
		if i+1 < n {
			c = buf[i+1]
		} else {
			c = pad[i+1-n]
		}
		switch {
		case c < '.' || c > 'z':
			c = '.'
		case c >= ':' && c <= '@':
			c += 'A' - ':'
		case c >= '[' && c <= '`':
			c += 'a' - '['
		}
		salt[i] = c
	}

	key := buf[:min(n, 8)]
	out := desCrypt(key, salt)
	return string(out[3:])
}

// classicKey writes the escaped, Shift_JIS encoded password into buf and
// returns its length. It stops once eight bytes are written, since crypt
// ignores the rest; the last character may run past eight, by at most five
// bytes ("&quot;" started at byte seven).
func classicKey(buf *[16]byte, password string) int {
	n := 0
	for i := 0; i < len(password) && n < 8; {
		c := password[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '&':
				n += copy(buf[n:], "&amp;")
			case '<':
				n += copy(buf[n:], "&lt;")
			case '>':
				n += copy(buf[n:], "&gt;")
			case '"':
				n += copy(buf[n:], "&quot;")
			default:
				buf[n] = c
				n++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(password[i:])
		if b, m := sjis(r); m > 0 {
			n += copy(buf[n:], b[:m])
		} else {
			// Unmapped characters, and invalid UTF-8 byte by byte.
			n += copy(buf[n:], password[i:i+size])
		}
		i += size
	}
	return n
}

// secureEncoding is base64 with the standard alphabet except '+' → '.' and
// '/' → '_', so a tripcode is safe in URLs and file names as it stands.
var secureEncoding = base64.NewEncoding(
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._",
).WithPadding(base64.NoPadding)

// Secure returns the secure tripcode of password, without the leading
// "!!": the first ten characters (60 bits) of HMAC-SHA256(secret, password)
// in secureEncoding. The password is hashed as given, UTF-8 and unescaped.
// secret should be long, random and stable, since changing it changes
// every secure tripcode.
func Secure(secret []byte, password string) string {
	mac := hmac.New(sha256.New, secret)
	io.WriteString(mac, password)
	var sum [sha256.Size]byte
	// Eight bytes encode to eleven characters, enough for ten.
	return secureEncoding.EncodeToString(mac.Sum(sum[:0])[:8])[:10]
}

// Split separates the raw name field into the name to display and the
// tripcode to show after it, including its "!" or "!!" marks:
//
//	name               → name, ""
//	name#pass          → name, "!" + Classic(pass)
//	name##pass         → name, "!!" + Secure(secret, pass)
//	name#pass##secure  → name, "!" + Classic(pass) + "!!" + Secure(secret, secure)
//
// An empty password gives no tripcode ("name#" is just "name"). The display
// name may be empty; the caller substitutes its default name.
func Split(secret []byte, name string) (display, trip string) {
	display, rest, found := strings.Cut(name, "#")
	if !found {
		return name, ""
	}
	var classic, secure string
	if s, ok := strings.CutPrefix(rest, "#"); ok {
		secure = s
	} else {
		classic, secure, _ = strings.Cut(rest, "##")
	}
	if classic != "" {
		trip = "!" + Classic(classic)
	}
	if secure != "" {
		trip += "!!" + Secure(secret, secure)
	}
	return display, trip
}
