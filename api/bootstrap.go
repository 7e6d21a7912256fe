package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
)

// Bootstrap gives a new, empty site what it needs to be used: board b and
// the staff account admin, whose password is adminPassword or, when that is
// empty, a random one logged once.
func Bootstrap(ctx context.Context, st *store.Store, adminPassword string, log *slog.Logger) error {
	boards, err := st.Boards(ctx)
	if err != nil {
		return err
	}
	if len(boards) == 0 {
		if err := st.CreateBoard(ctx, maniwani.DefaultBoard()); err != nil {
			return err
		}
		log.Info("created board /b/")
	}
	n, err := st.StaffCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	generated := adminPassword == ""
	if generated {
		b := make([]byte, 18)
		rand.Read(b)
		adminPassword = base64.RawURLEncoding.EncodeToString(b)
	}
	err = st.CreateStaff(ctx, maniwani.Staff{Username: "admin", PasswordHash: HashPassword(adminPassword),
		Role: maniwani.RoleAdmin, Created: time.Now()})
	if err != nil {
		return err
	}
	if generated {
		// Shown once, so the operator can log in; it is stored only as a hash.
		log.Warn("created staff account admin with a random password; change it after logging in",
			"username", "admin", "password", adminPassword)
	} else {
		log.Info("created staff account admin with the password of MANIWANI_ADMIN_PASSWORD")
	}
	return nil
}
