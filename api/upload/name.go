package upload

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/maniwani/maniwani/internal/visible"
)

// maxName is the longest cleaned name, in bytes.
const maxName = 200

// cleanName makes the name a client gave its file fit to show: the last
// element of a path of either kind of slash, without invalid UTF-8,
// characters that file systems refuse and those that show nothing (a
// right-to-left override can make "gpj.exe" read as "exe.jpg": the rule of
// package visible, as for posters' names), without its extension, at most
// maxName bytes; "file" when nothing is left.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = visible.String(strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"|?*`, r) {
			return -1
		}
		return r
	}, name))
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
