package upload

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest cleaned name, in bytes.
const maxName = 200

// cleanName makes the name a client gave its file fit to show: the last
// element of a path of either kind of slash, without invalid UTF-8, control
// and invisible formatting characters (a right-to-left override can make
// "gpj.exe" read as "exe.jpg") and characters that file systems refuse,
// without its extension, at most maxName bytes; "file" when nothing is left.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), strings.ContainsRune(`<>:"|?*`, r),
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) && r != '\u200c' && r != '\u200d':
			return -1 // the joiners stay: emoji and some scripts need them
		}
		return r
	}, name)
	name = trimName(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 && isExt(name[i+1:]) {
		name = trimName(name[:i])
	}
	if len(name) > maxName {
		cut := maxName
		for !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = trimName(name[:cut])
	}
	if name == "" {
		return "file"
	}
	return name
}

func trimName(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '.' })
}

// isExt tells whether what follows a name's last dot is an extension ("png",
// "tar", "mp4") rather than part of the name ("Mr. Smith").
func isExt(s string) bool {
	if len(s) == 0 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; (c < 'a' || c > 'z') && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}
