package store

import (
	"context"
	"encoding/hex"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/realip"
)

// ActiveBans lists the bans that still hold at t.
func (s *Store) ActiveBans(ctx context.Context, t time.Time) ([]maniwani.Ban, error) {
	var rows []banRow
	err := s.db.WithContext(ctx).Where("expires_us = 0 OR expires_us > ?", t.UnixMicro()).Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.Ban, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// BanFor finds a ban holding at t on the address ip for the board (a ban
// with no board holds on all of them), the one that ends last if several do.
func (s *Store) BanFor(ctx context.Context, ip, board string, t time.Time) (*maniwani.Ban, error) {
	var key string
	if realip.IsOnion(ip) {
		key = ip // an onion poster's own key: only a ban of that key holds
	} else if a, err := netip.ParseAddr(ip); err == nil {
		key = addrKey(a)
	} else {
		return nil, nil // no address, nothing to match (a unix socket peer)
	}
	var rows []banRow
	err := s.db.WithContext(ctx).
		Where("ip_start <= ? AND ip_end >= ? AND (expires_us = 0 OR expires_us > ?) AND (board = '' OR board = ?)",
			key, key, t.UnixMicro(), board).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	best := rows[0]
	for _, r := range rows[1:] {
		if r.ExpiresUS == 0 || (best.ExpiresUS != 0 && r.ExpiresUS > best.ExpiresUS) {
			best = r
		}
	}
	b := best.domain()
	return &b, nil
}

func (r *banRow) domain() maniwani.Ban {
	return maniwani.Ban{ID: r.ID, CIDR: r.CIDR, Reason: r.Reason, Board: r.Board, Staff: r.Staff,
		Created: usToTime(r.CreatedUS), Expires: usToTime(r.ExpiresUS)}
}

// addrKey is an address as 32 hex digits, IPv4 mapped into IPv6.
func addrKey(a netip.Addr) string {
	b := a.As16()
	return hex.EncodeToString(b[:])
}

// rangeKeys are the keys of a range's first and last addresses.
func rangeKeys(p netip.Prefix) (string, string) {
	p = p.Masked()
	first := p.Addr().As16()
	last := first
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		last[i/8] |= 1 << (7 - i%8)
	}
	return hex.EncodeToString(first[:]), hex.EncodeToString(last[:])
}

// ParseBanTarget reads an address or a CIDR range into a prefix.
func ParseBanTarget(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, maniwani.Errorf(maniwani.KindInvalid, "%q is not an IP address or CIDR range.", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// maxOnionKey is the longest onion poster's key a ban holds: the width of
// banRow.IPStart.
const maxOnionKey = 32

// CreateBan stores a ban, and its line in the moderation log, and returns its id.
// Its target is an address or range (CIDR), or an onion poster's key
// (realip.OnionPrefix), which the ban's range holds alone.
func (s *Store) CreateBan(ctx context.Context, b maniwani.Ban) (int64, error) {
	var target, start, end string
	if realip.IsOnion(b.CIDR) {
		if len(b.CIDR) > maxOnionKey {
			return 0, maniwani.Errorf(maniwani.KindInvalid, "%q is not an onion poster's key.", b.CIDR)
		}
		target, start, end = b.CIDR, b.CIDR, b.CIDR
	} else {
		p, err := ParseBanTarget(b.CIDR)
		if err != nil {
			return 0, err
		}
		target = p.String()
		start, end = rangeKeys(p)
	}
	row := banRow{CIDR: target, IPStart: start, IPEnd: end, Reason: b.Reason, Board: b.Board, Staff: b.Staff,
		CreatedUS: timeToUS(b.Created), ExpiresUS: timeToUS(b.Expires)}
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return tx.Create(&modLogRow{TimeUS: row.CreatedUS, Staff: b.Staff, Action: "ban", Target: row.CIDR, Reason: b.Reason}).Error
	})
	return row.ID, err
}

// StaffCount tells how many staff accounts exist.
func (s *Store) StaffCount(ctx context.Context) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&staffRow{}).Count(&n).Error
	return int(n), err
}

// CreateStaff adds a staff account; PasswordHash must already be a hash.
func (s *Store) CreateStaff(ctx context.Context, st maniwani.Staff) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&staffRow{}).Where("username = ?", st.Username).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return maniwani.Errorf(maniwani.KindConflict, "Staff account %q already exists.", st.Username)
		}
		return tx.Create(&staffRow{Username: st.Username, PasswordHash: st.PasswordHash,
			Role: string(st.Role), CreatedUS: timeToUS(st.Created)}).Error
	})
}

// StaffByName finds a staff account.
func (s *Store) StaffByName(ctx context.Context, username string) (*maniwani.Staff, error) {
	var r staffRow
	err := s.db.WithContext(ctx).Where("username = ?", username).Take(&r).Error
	if err == gorm.ErrRecordNotFound {
		return nil, notFound("No staff account %q.", username)
	}
	if err != nil {
		return nil, err
	}
	return &maniwani.Staff{ID: r.ID, Username: r.Username, PasswordHash: r.PasswordHash,
		Role: maniwani.Role(r.Role), Created: usToTime(r.CreatedUS)}, nil
}
