package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

// Filters and mass deletion: the staff's defences against spam.

// MaxFilters bounds the filters a site keeps: every post is matched
// against all of them.
const MaxFilters = 500

func (r *filterRow) domain() maniwani.Filter {
	f := maniwani.Filter{ID: r.ID, Board: r.Board, Pattern: r.Pattern, Regex: r.Regex,
		Action: maniwani.FilterAction(r.Action), Replacement: r.Replacement, Reason: r.Reason,
		BanHours: r.BanHours, Staff: r.Staff, Created: usToTime(r.CreatedUS)}
	for _, name := range strings.Split(r.Fields, ",") {
		if name != "" {
			f.Fields = append(f.Fields, maniwani.FilterField(name))
		}
	}
	return f
}

// Filters lists every filter, oldest first: the order they are applied in.
func (s *Store) Filters(ctx context.Context) ([]maniwani.Filter, error) {
	var rows []filterRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]maniwani.Filter, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// CreateFilter stores a filter, already checked, with its line in the
// log, and returns its id; past MaxFilters it is refused.
func (s *Store) CreateFilter(ctx context.Context, f maniwani.Filter, e maniwani.LogEntry) (int64, error) {
	fields := make([]string, len(f.Fields))
	for i, x := range f.Fields {
		fields[i] = string(x)
	}
	row := filterRow{Board: f.Board, Pattern: f.Pattern, Regex: f.Regex, Fields: strings.Join(fields, ","),
		Action: string(f.Action), Replacement: f.Replacement, Reason: f.Reason, BanHours: f.BanHours,
		Staff: f.Staff, CreatedUS: timeToUS(f.Created)}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&filterRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxFilters {
			return maniwani.Errorf(maniwani.KindConflict, "The site has %d filters, the most it keeps; delete one first.", MaxFilters)
		}
		if f.Board != "" {
			if _, err := s.boardRow(tx, f.Board); err != nil {
				return err
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		e.Target = fmt.Sprintf("filter %d", row.ID)
		return addLog(tx, e)
	})
	return row.ID, err
}

// DeleteFilter removes a filter, with its line in the log.
func (s *Store) DeleteFilter(ctx context.Context, id int64, e maniwani.LogEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var r filterRow
		err := tx.Where("id = ?", id).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("No filter %d.", id)
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(&r).Error; err != nil {
			return err
		}
		e.Target, e.Reason = fmt.Sprintf("filter %d", id), r.Pattern
		return addLog(tx, e)
	})
}

// PurgeQuery is whose posts Purge deletes: every post from an address of
// Range, on Board ("": every board), made at or after Since (zero: ever).
type PurgeQuery struct {
	Range netip.Prefix
	Board string
	Since int64 // unix µs; 0: ever
}

// Purge deletes every post a query matches, on each board in one
// transaction with its line in the log (its reason: the count), and
// returns what went, by board. An opening post takes its thread along.
func (s *Store) Purge(ctx context.Context, q PurgeQuery, e maniwani.LogEntry) (map[string]*StaffDeleted, int, error) {
	rng := q.Range.Masked()
	if a := rng.Addr(); a.Is4In6() && rng.Bits() >= 96 { // posts keep IPv4 addresses as such
		rng = netip.PrefixFrom(a.Unmap(), rng.Bits()-96)
	}
	var out map[string]*StaffDeleted
	total := 0
	err := s.write(ctx, func(tx *gorm.DB) error {
		out, total = map[string]*StaffDeleted{}, 0
		var boards []boardRow
		bq := tx.Order("name")
		if q.Board != "" {
			bq = bq.Where("name = ?", q.Board)
		}
		if err := bq.Find(&boards).Error; err != nil {
			return err
		}
		if q.Board != "" && len(boards) == 0 {
			return notFound("Board /%s/ does not exist.", q.Board)
		}
		for i := range boards {
			b := &boards[i]
			// Posts keep their address as text, which SQL cannot match to
			// a range alike on both databases: the board's distinct
			// addresses are matched here.
			var ips []string
			iq := tx.Model(&postRow{}).Distinct("ip").Where("board_id = ?", b.ID)
			if q.Since > 0 {
				iq = iq.Where("created_us >= ?", q.Since)
			}
			if err := iq.Pluck("ip", &ips).Error; err != nil {
				return err
			}
			var hit []string
			for _, ip := range ips {
				if a, err := netip.ParseAddr(ip); err == nil && rng.Contains(a.Unmap()) {
					hit = append(hit, ip)
				}
			}
			if len(hit) == 0 {
				continue
			}
			var posts []postRow
			pq := tx.Where("board_id = ? AND ip IN ?", b.ID, hit)
			if q.Since > 0 {
				pq = pq.Where("created_us >= ?", q.Since)
			}
			if err := pq.Order("no").Find(&posts).Error; err != nil {
				return err
			}
			d := &StaffDeleted{}
			for _, p := range posts {
				d.Posts = append(d.Posts, maniwani.Ref{Board: b.Name, No: p.No})
				d.Threads = append(d.Threads, p.ThreadNo)
				if p.ThreadNo == p.No {
					d.Ops = append(d.Ops, p.No)
				}
			}
			var err error
			if d.Files, err = deletePosts(tx, b, posts, timeToUS(e.Time)); err != nil {
				return err
			}
			out[b.Name], total = d, total+len(posts)
		}
		e.Reason = fmt.Sprintf("%d post%s deleted", total, plural(total))
		return addLog(tx, e)
	})
	return out, total, err
}
