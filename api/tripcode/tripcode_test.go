package tripcode

import (
	"crypto/des"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTables(t *testing.T) {
	for k, box := range sBoxes {
		for row := range 4 {
			var seen [16]bool
			for _, v := range box[row*16 : row*16+16] {
				if v > 15 || seen[v] {
					t.Fatalf("S%d row %d is not a permutation of 0..15", k+1, row)
				}
				seen[v] = true
			}
		}
	}
	for i := range ipTable {
		if fpTable[ipTable[i]-1] != uint8(i+1) {
			t.Fatalf("FP is not the inverse of IP at %d", i+1)
		}
	}
	// feistel's rotations must extract exactly the E table's groups.
	for bit := 1; bit <= 32; bit++ {
		r := uint32(1) << (32 - bit)
		want := permute(uint64(r), 32, eTable[:])
		var got uint64
		for g, rot := range []int{-1, 3, 7, 11, 15, 19, 23, 27} {
			got |= uint64(bits.RotateLeft32(r, rot)>>26) << (42 - 6*g)
		}
		if got != want {
			t.Fatalf("E expansion of bit %d: got %012x, want %012x", bit, got, want)
		}
	}
}

// With a zero salt and one pass, the core must be plain DES.
func TestDESMatchesCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		key, block := rng.Uint64(), rng.Uint64()
		var kb, in, want [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(in[:], block)
		c, err := des.NewCipher(kb[:])
		if err != nil {
			t.Fatal(err)
		}
		c.Encrypt(want[:], in[:])
		ks := newSchedule(key)
		if got := ks.encrypt(block, 0, 0, 1); got != binary.BigEndian.Uint64(want[:]) {
			t.Fatalf("DES(%016x, %016x) = %016x, want %x", key, block, got, want)
		}
	}
}

func TestCrypt(t *testing.T) {
	// Expected values from glibc's crypt via perl -e 'print crypt(...)';
	// the ASCII ones also agree with Python 3.11's crypt.crypt.
	tests := []struct{ key, salt, want string }{
		{"password", "ab", "abJnggxhB/yWI"},
		{"", "..", "..X8NBuQ4l6uQ"},
		{"", "zz", "zz6dpSdr.LHZw"},
		{"a", "aa", "aafKPWZb/dLAs"},
		{"test", "zz", "zzIUSbhjhhESA"},
		{"12345678", "AB", "AB1Gdy0FbsN2g"},
		{"123456789abc", "AB", "AB1Gdy0FbsN2g"}, // only eight bytes count
		{"Hello, World!", "/.", "/.bkye0UveXko"},
		{"ab\x00cdef", "xy", "xymY.41uuaUPE"}, // stops at NUL
		{"!@#$%^&*", "./", "./b2LfOjVQtJ6"},
		{"ZZZZZZZZ", "zz", "zz.gWravdNZNQ"},
		// High bits are dropped; glibc only.
		{"\xff\xfe\xfd\x80\x81", "9Z", "9ZLj1Z36RL83w"},
		{"\xf3'f\xa7\x0d\x13", "Ai", "Ait49hyQx7732"},
		{"\x0f\xe9\x827\x0a\x17pl\x12>", "9q", "9qk209/zHIFj2"},
		{"\xd4", "DQ", "DQKhfLXcXwm8A"},
		{"\xa1\x96\xf3\x10\x94\x96f\x0d\xfa9\x0c", "FZ", "FZrbhfcL.Gv9Q"},
		{"%\x8b\x1f\x93O\x90\xd1", "LB", "LBammL9g.WlQ6"},
		{"\x93\xa41`\x19\x8d\xb7\x11\x91\x10", "Oz", "OzdyZchFvzNAM"},
		{"\x89n\xc7Qx\x96\xedu]M@", "LT", "LTRuaquMAnaSA"},
		{"\x94M", "zf", "zf32UwZ8SLKK6"},
		// Published as the trick tripcode #^2MjSVc" → !1.G.o.o.D. on
		// http://wiki.deltamualpha.org/w/Tripcode, from boards that did not
		// escape '"' (Classic does, see TestClassic).
		{`^2MjSVc"`, "2M", "2M.1.G.o.o.D."},
	}
	for _, tt := range tests {
		got := desCrypt([]byte(tt.key), [2]byte{tt.salt[0], tt.salt[1]})
		if string(got[:]) != tt.want {
			t.Errorf("crypt(%q, %q) = %q, want %q", tt.key, tt.salt, got, tt.want)
		}
	}
}

func TestClassic(t *testing.T) {
	const (
		iiichan  = "http://wiki.iiichan.net/Tripcode"
		snyke    = "http://encyclopedie-en.snyke.com/articles/tripcode.html"
		delta    = "http://wiki.deltamualpha.org/w/Tripcode"
		tanasinn = "https://tanasinn.vip/tripcode"
		guro     = "https://guro.cx/faq/tripcode.html"
		jensen   = "github.com/justinjensen/tripcode test/tripcode_test.rb"
		kenany   = "github.com/kenany/tripcode test/index.js, test/tripcodes.json"
		krepflap = "github.com/krepflap/ex_tripcode test/ex_tripcode_test.exs"
		chief    = "github.com/paulmillr/chieftain board/tests.py"
		wakaba   = "github.com/lewd-site/ImageboardBackend tests/unit/wakaba-tripcode-generator.test.ts"
		none     = "github.com/NoneGiven/tripcode README.md (4chan)"
		computed = "computed: perl crypt + the documented algorithm"
	)
	tests := []struct{ password, want, source string }{
		{"tripcode", "3GqYIJ3Obs", iiichan + ", " + snyke + ", " + delta + ", " + chief},
		{"faggot", "Ep8pui8Vw2", iiichan + ", " + tanasinn},
		{"deadjew", "lM51PoudCg", iiichan},
		{"withtripcode", "5JrU4QOlH6", iiichan}, // longer than 8
		{"password", "ozOtJW9BFA", guro},
		{"7qQ6", "ABCDEDEZEY", delta},
		{"cZi1O;4k", "dWFvipper.", delta},
		// Listed as "#kami"; the password is full-width, the in-joke only
		// works through Shift_JIS.
		{"ｋａｍｉ", "yGAhoNiShI", iiichan},
		{"", "8NBuQ4l6uQ", delta + " (Wakaba)"},
		{"tripcod3", "U6qBEwdIxU", chief},
		{"¥", "9xUxYS2dlM", none}, // hashed as '\\'
		{"\\", "9xUxYS2dlM", none},
		{"a", "ZnBI2EKkq.", kenany + ", " + krepflap + ", " + none}, // one character
		{"abbreviate", "kQnPQlXF.o", kenany},
		{"overcompensate", "sGqtdX5oJc", krepflap},
		{"pepperoni", "HohErJmbN6", krepflap},
		{"gV4ZhqkrjBka)GiWi(zKJHYPShVN!^TsG%6Xxo9Q", "3ps/PcSAjk", krepflap},
		{"$$$$$$$$$$$$$$$$$$", "dQCqKwAumo", krepflap},
		{"エリクサー", "VTaBo/Ew8o", krepflap},
		{"廨A齬ﾙｲb", "sTrIKeleSs", krepflap},
		{"糯ｫT弓(窶", "Pants.f1Fk", krepflap},
		{"test", ".CzKQna1OU", wakaba},
		{"another", "5rdyZ9xiHE", wakaba + ", " + kenany},
		{"lPeA=BH2", "Zimoy/N9WA", wakaba},
		{"K[@?dtBg", "TOMATO.AsY", wakaba}, // salt "[@" → "aG"
		{"RﾖﾄB儔hF", "0OAW4T4SHI", wakaba},
		{"©", "AXcG6m9g5c", kenany + " (earlier revision; no Shift_JIS code, UTF-8 bytes)"},
		// Escaping: "&amp;&lt" is what gets hashed.
		{"&<>\"'", "CgqvGaJbDQ", kenany},
		// One-character symbols, several escaped or mapped in the salt.
		{"&", "MhCJJ7GVT.", jensen + ", " + none},
		{"\"", "gt1azVccY2", jensen},
		{":", ".BmRMKOub2", jensen},
		{";", "zglc7ct1Ls", jensen},
		{"?", "cPUZU5OGFs", jensen + ", " + none},
		{"`", "l.nT/qC3Ro", jensen},
		{"[", "7h2f0/nQ3w", jensen},
		{"!", "KNs1o0VDv6", jensen},
		{"#", "u2YjtUz8MU", jensen},
		{"'", "8/08awL.AE", jensen},
		{"~", "LpJR0bXBSc", jensen},
		{`^2MjSVc"`, "9ZQ8CESs4w", computed},    // unescaped: 1.G.o.o.D. (TestCrypt)
		{"a<b>c", "nO1ht5CnNg", computed},       // salt "&l" → ".l"
		{"<3", "0JTVzlbXog", computed},          // salt "lt"
		{"x\"quoted\"", "l60r1cv/6k", computed}, // salt "&q" → ".q"
		{"0:;=?", "WJyBqHqD46", computed},       // salt ":;" → "AB"
		{"x\\]^_`", "ZzAToKgts.", computed},     // salt "\\]" → "bc"
		{"ab{|}~", ".dPmD.K5i.", computed},      // salt "b{" → "b."
		{"a b", "x.YiIbWIis", computed},         // salt " b" → ".b"
		{"tab\there", "Ipid1yoMKs", computed},
		{"1", "tsGpSwX8mo", computed}, // salt "H."
		{"correct horse battery staple", "sVOxy69tow", computed},
		{"パスワード", "2sjUZhK5lw", computed},
		{"ﾄﾘｯﾌﾟ", "sU5b/7Ov26", computed},
		{"Ünïcødé", "V6Vv0lzdHM", computed}, // no Shift_JIS: UTF-8 bytes
		{"🔑key", "8e0kZ2Gq/A", computed},
	}
	for _, tt := range tests {
		if got := Classic(tt.password); got != tt.want {
			t.Errorf("Classic(%q) = %q, want %q (%s)", tt.password, got, tt.want, tt.source)
		}
	}
}

func TestSJIS(t *testing.T) {
	tests := []struct {
		r    rune
		want string
	}{
		{'　', "\x81\x40"},
		{'ー', "\x81\x5b"},
		{'ａ', "\x82\x81"},
		{'あ', "\x82\xa0"},
		{'ミ', "\x83\x7e"},
		{'ム', "\x83\x80"}, // trail byte 0x7F is skipped
		{'ｱ', "\xb1"},
		{'亜', "\x88\x9f"},
		{'～', "\x81\x60"}, // Windows-31J's wave dash
		{'¥', "\\"},
		{'©', ""},
		{'😀', ""},
	}
	for _, tt := range tests {
		b, n := sjis(tt.r)
		if got := string(b[:n]); got != tt.want {
			t.Errorf("sjis(%q) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestSecure(t *testing.T) {
	// Expected values from Python's hmac + base64 with the same alphabet.
	tests := []struct{ secret, password, want string }{
		{"secret", "password", "jJojniH3u5"},
		{"", "password", "f3d7zO2yNW"},
		{"another secret", "password", "oW.IWqedIO"},
		{"secret", "passw0rd", "V4fpBmHjLY"},
		{"secret", "パスワード", "f4l3bhy.PW"},
	}
	for _, tt := range tests {
		got := Secure([]byte(tt.secret), tt.password)
		if got != tt.want {
			t.Errorf("Secure(%q, %q) = %q, want %q", tt.secret, tt.password, got, tt.want)
		}
		if again := Secure([]byte(tt.secret), tt.password); again != got {
			t.Errorf("Secure(%q, %q) not deterministic: %q then %q", tt.secret, tt.password, got, again)
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
	for i := range 500 {
		got := Secure([]byte("k"), strings.Repeat("x", i))
		if len(got) != 10 || strings.Trim(got, alphabet) != "" {
			t.Fatalf("Secure gave %q, want 10 characters of %s", got, alphabet)
		}
	}
}

func TestSplit(t *testing.T) {
	secret := []byte("secret")
	c, s := "!"+Classic("pass"), "!!"+Secure(secret, "pass")
	tests := []struct{ name, display, trip string }{
		{"", "", ""},
		{"Anonymous", "Anonymous", ""},
		{"name#pass", "name", c},
		{"#pass", "", c},
		{"name##pass", "name", s},
		{"##pass", "", s},
		{"name#pass##pass", "name", c + s},
		{"name#pass##other", "name", c + "!!" + Secure(secret, "other")},
		{"name#", "name", ""},
		{"name##", "name", ""},
		{"name#pass##", "name", c},
		{"name#a#b", "name", "!" + Classic("a#b")},
		{"name###x", "name", "!!" + Secure(secret, "#x")},
		{"name#tripcode", "name", "!3GqYIJ3Obs"},
	}
	for _, tt := range tests {
		display, trip := Split(secret, tt.name)
		if display != tt.display || trip != tt.trip {
			t.Errorf("Split(%q) = %q, %q; want %q, %q", tt.name, display, trip, tt.display, tt.trip)
		}
	}
	_, a := Split([]byte("a"), "x##p")
	_, b := Split([]byte("b"), "x##p")
	if a == b {
		t.Error("secure tripcode does not depend on the secret")
	}
}

func BenchmarkClassic(b *testing.B) {
	for b.Loop() {
		Classic("tripcode")
	}
}

func BenchmarkSecure(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for b.Loop() {
		Secure(secret, "tripcode")
	}
}
