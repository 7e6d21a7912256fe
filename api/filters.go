package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
)

// Filters on what posters type (the contract's "Spam defence"). Every post is
// matched against every filter of its board and the global ones, so their
// cost is bounded: at most store.MaxFilters filters of at most
// MaxFilterPattern bytes each, compiled once as RE2, whose matching is
// linear in the text.

// Limits of a filter's parts.
const (
	MaxFilterPattern     = 256
	MaxFilterReplacement = 256
	MaxFilterReason      = 500
	MaxFilterBanHours    = 24 * 365
)

// DefaultFilterTTL is how long an api instance uses the filters it read
// before it reads them again, when Config leaves FilterTTL zero. A change
// made through this instance is seen at once; one made through another
// instance sharing the database, within this long.
const DefaultFilterTTL = 5 * time.Second

// compiledFilter is a filter ready to match.
type compiledFilter struct {
	maniwani.Filter
	re *regexp.Regexp
}

// compileFilter makes a filter's matcher: a regex as written, a literal as
// itself, case folded.
func compileFilter(f maniwani.Filter) (*regexp.Regexp, error) {
	if f.Regex {
		return regexp.Compile(f.Pattern)
	}
	return regexp.Compile("(?i)" + regexp.QuoteMeta(f.Pattern))
}

// covers tells whether the filter looks at field of a post on board.
func (f *compiledFilter) covers(board string, field maniwani.FilterField) bool {
	return (f.Board == "" || f.Board == board) && slices.Contains(f.Fields, field)
}

// filterCache keeps the compiled filters of the site for a while.
type filterCache struct {
	mu     sync.Mutex
	list   []*compiledFilter
	loaded time.Time // zero: read them again
}

// filters gives the site's compiled filters, read again from the store
// when they are older than the TTL or were changed here.
func (s *Service) filters(ctx context.Context) ([]*compiledFilter, error) {
	c := &s.filterCache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if !c.loaded.IsZero() && now.Sub(c.loaded) < s.cfg.FilterTTL && !now.Before(c.loaded) {
		return c.list, nil
	}
	fs, err := s.store.Filters(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]*compiledFilter, 0, len(fs))
	for _, f := range fs {
		re, err := compileFilter(f)
		if err != nil { // checked when made: only a hand-edited row
			s.log.Error("filter does not compile; skipped", "id", f.ID, "err", err)
			continue
		}
		list = append(list, &compiledFilter{Filter: f, re: re})
	}
	c.list, c.loaded = list, now
	return list, nil
}

// filtersChanged makes the next post read the filters again.
func (s *Service) filtersChanged() {
	s.filterCache.mu.Lock()
	s.filterCache.loaded = time.Time{}
	s.filterCache.mu.Unlock()
}

// filterText is one field of a post as the filters see it.
type filterText struct {
	field maniwani.FilterField
	text  *string
	max   int // characters, once replaced
}

// applyFilters runs the filters over the fields of a post on board, as
// the poster typed them: first the ones that refuse (a match refuses the
// post with the filter's reason; a ban filter bans the poster's address
// too), then the replacements, each in place.
func (s *Service) applyFilters(ctx context.Context, board, ip string, fields []filterText) error {
	if len(fields) == 0 {
		return nil
	}
	list, err := s.filters(ctx)
	if err != nil {
		return err
	}
	for _, f := range list {
		if f.Action == maniwani.ActionReplace {
			continue
		}
		for _, x := range fields {
			if *x.text != "" && f.covers(board, x.field) && f.re.MatchString(*x.text) {
				return s.filterRefuse(ctx, board, ip, f)
			}
		}
	}
	for _, f := range list {
		if f.Action != maniwani.ActionReplace {
			continue
		}
		for _, x := range fields {
			if *x.text != "" && f.covers(board, x.field) {
				*x.text = clipRunes(f.re.ReplaceAllLiteralString(*x.text, f.Replacement), x.max)
			}
		}
	}
	return nil
}

// filterRefuse is the refusal of a post a filter matched: a ban filter
// first bans the poster's address (an IPv6 poster's /64, realip.Key, as a
// ban from a post does) where the filter holds.
func (s *Service) filterRefuse(ctx context.Context, board, ip string, f *compiledFilter) error {
	if f.Action != maniwani.ActionBan {
		if f.Reason == "" {
			return maniwani.Errorf(maniwani.KindForbidden, "Your post was refused by a filter.")
		}
		return maniwani.Errorf(maniwani.KindForbidden, "Your post was refused: %s.", strings.TrimRight(f.Reason, "."))
	}
	now := s.now()
	ban := maniwani.Ban{CIDR: realip.Key(ip), Reason: f.Reason, Board: f.Board, Created: now,
		Expires: now.Add(time.Duration(f.BanHours) * time.Hour), Staff: fmt.Sprintf("filter %d", f.ID)}
	if ip == "" { // no address to ban (a unix socket peer): refused all the same
		return banError(&ban)
	}
	id, err := s.store.CreateBan(context.WithoutCancel(ctx), ban)
	if err != nil {
		return err
	}
	s.log.Info("poster banned by a filter", "filter", f.ID, "ban", id, "board", board)
	return banError(&ban)
}

// clipRunes cuts s to at most n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// newFilter checks a filter as POST /api/admin/filters takes it and makes
// it a filter.
func newFilter(in maniwani.FilterRequest) (maniwani.Filter, error) {
	f := maniwani.Filter{Board: strings.TrimSpace(in.Board), Pattern: in.Pattern, Regex: in.Regex,
		Action: in.Action, Replacement: in.Replacement, Reason: strings.TrimSpace(in.Reason), BanHours: in.BanHours}
	if f.Board != "" && !maniwani.ValidBoardName(f.Board) {
		return f, maniwani.Errorf(maniwani.KindNotFound, "Board /%s/ does not exist.", f.Board)
	}
	switch {
	case strings.TrimSpace(f.Pattern) == "":
		return f, invalid("A filter needs a pattern.")
	case len(f.Pattern) > MaxFilterPattern:
		return f, invalid("A filter's pattern is at most %d bytes.", MaxFilterPattern)
	case !utf8.ValidString(f.Pattern):
		return f, invalid("A filter's pattern must be UTF-8 text.")
	}
	if _, err := compileFilter(f); err != nil {
		return f, invalid("The pattern is not an RE2 regular expression: %v.", err)
	}
	if f.Regex {
		if re, _ := compileFilter(f); re.MatchString("") {
			return f, invalid("The pattern matches empty text, so it would match every post.")
		}
	}
	if len(in.Fields) == 0 {
		return f, invalid("Say which fields the filter looks at: any of com, name, sub, filename.")
	}
	for _, x := range in.Fields {
		if !slices.Contains(maniwani.FilterFields, x) {
			return f, invalid("%q is not a field a filter looks at: com, name, sub or filename.", clip(string(x), 20))
		}
		if !slices.Contains(f.Fields, x) {
			f.Fields = append(f.Fields, x)
		}
	}
	switch {
	case utf8.RuneCountInString(f.Reason) > MaxFilterReason:
		return f, invalid("A filter's reason is at most %d characters.", MaxFilterReason)
	case len(f.Replacement) > MaxFilterReplacement || !utf8.ValidString(f.Replacement):
		return f, invalid("A filter's replacement is UTF-8 text of at most %d bytes.", MaxFilterReplacement)
	}
	switch f.Action {
	case maniwani.ActionReject:
	case maniwani.ActionBan:
		if f.Reason == "" {
			return f, invalid("A ban filter needs a reason: the banned poster sees it.")
		}
		if f.BanHours < 1 || f.BanHours > MaxFilterBanHours {
			return f, invalid("A ban filter needs ban_hours, 1 to %d.", MaxFilterBanHours)
		}
	case maniwani.ActionReplace:
	default:
		return f, invalid("%q is not an action: reject, ban or replace.", clip(string(f.Action), 20))
	}
	if f.Action != maniwani.ActionBan && f.BanHours != 0 {
		return f, invalid("ban_hours is for a ban filter only.")
	}
	if f.Action != maniwani.ActionReplace && f.Replacement != "" {
		return f, invalid("A replacement is for a replace filter only.")
	}
	return f, nil
}

func filterOut(f *maniwani.Filter) maniwani.StaffFilter {
	fields := f.Fields
	if fields == nil {
		fields = []maniwani.FilterField{}
	}
	return maniwani.StaffFilter{ID: f.ID, Board: f.Board, Pattern: f.Pattern, Regex: f.Regex, Fields: fields,
		Action: f.Action, Replacement: f.Replacement, Reason: f.Reason, BanHours: f.BanHours, Staff: f.Staff,
		Created: maniwani.Timestamp{Time: f.Created}}
}
