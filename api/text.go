package api

import (
	"bufio"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/visible"
)

// textKind says how a field is cleaned.
type textKind int

const (
	// rawText is kept as sent: a password, a number.
	rawText textKind = iota
	// lineText is one line: tabs and line breaks become spaces, and what
	// shows nothing (package visible) goes.
	lineText
	// bodyText is a comment: line breaks (as LF) and tabs stay; other
	// control characters go.
	bodyText
)

// textField is one text field of a form: what messages call it, its limit
// in characters once clean, and how it is cleaned.
type textField struct {
	what string
	max  int
	kind textKind
}

// postField is the field of the post form named name, if it is one.
func postField(name string) (textField, bool) {
	switch name {
	case "com":
		return textField{"comment", MaxComment, bodyText}, true
	case "name":
		return textField{"name", MaxName, lineText}, true
	case "sub":
		return textField{"subject", MaxSubject, lineText}, true
	case "email":
		return textField{"email", MaxEmail, lineText}, true
	case "pwd":
		return textField{"password", MaxPassword, rawText}, true
	case "resto":
		return textField{"thread number", 32, rawText}, true
	case "spoiler":
		return textField{"spoiler", 32, rawText}, true
	case "t-challenge":
		return textField{"captcha challenge", 128, rawText}, true
	case "t-response":
		return textField{"captcha answer", 32, rawText}, true
	}
	return textField{}, false
}

// readText reads a field from r and cleans it as it reads, so that what it
// holds is never more than the field's limit allows: once the clean text
// passes the limit the field is refused, and the rest of it is not read.
// Nothing is cut: the whole clean text is returned, or an error; with the
// error of a text over its limit comes its clean start, up to the limit,
// for the refusal page to give back (never to be stored).
func readText(r io.Reader, f textField) (string, error) {
	over := func() error {
		return invalid("The %s is over the limit of %d characters.", f.what, f.max)
	}
	if f.kind == rawText {
		// A character is at most four bytes, so more bytes than that are
		// too many characters.
		b, err := io.ReadAll(io.LimitReader(r, 4*int64(f.max)+1))
		if err != nil {
			return "", err
		}
		if len(b) > 4*f.max || utf8.RuneCount(b) > f.max {
			return "", over()
		}
		return string(b), nil
	}
	br := bufio.NewReader(r)
	var line visible.Builder
	var body strings.Builder
	n := 0
	invalidRun := false
	for {
		c, size, err := br.ReadRune()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		// A run of bytes that are not UTF-8 becomes one U+FFFD.
		bad := c == utf8.RuneError && size == 1
		if bad && invalidRun {
			continue
		}
		invalidRun = bad
		switch {
		case c == '\r': // CRLF is LF; a lone CR is a control character
			continue
		case c == '\n' || c == '\t':
			if f.kind == lineText {
				c = ' '
			}
		case unicode.IsControl(c):
			continue
		}
		if f.kind == lineText {
			line.WriteRune(c)
			n = line.Len()
		} else {
			body.WriteRune(c)
			n++
		}
		if n > f.max {
			if f.kind == lineText {
				return "", over()
			}
			s := body.String()
			return s[:len(s)-utf8.RuneLen(c)], over()
		}
	}
	if f.kind == lineText {
		return line.String(), nil
	}
	return body.String(), nil
}

// cleanText is readText over a string already read whole (a urlencoded
// form's value, within its body's limit).
func cleanText(s string, f textField) (string, error) {
	return readText(strings.NewReader(s), f)
}

// errTooMuchText refuses a post whose fields besides its files are larger
// than maxTextBody, whatever they hold once clean.
func errTooMuchText() error {
	return maniwani.Errorf(maniwani.KindTooLarge, "The post's fields besides its file are larger than %d KB.", maxTextBody>>10)
}
