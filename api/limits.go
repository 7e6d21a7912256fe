package api

import (
	"context"
	"fmt"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/internal/realip"
)

// The budgets of attempts. Each is taken in the database before the work
// it limits (store.Take), so that attempts sent at once, to any api
// instance, count each other. An address is counted by realip.Key: an
// IPv6 /64 is one poster; an onion poster is its key (posterKey).
const (
	loginWindow = 15 * time.Minute
	// An account's budget is for the browsers it never logged in from,
	// wherever they are: its own browsers have one each (device.go).
	maxFailsPerUser   = 5
	maxFailsPerDevice = 5
	maxFailsPerIP     = 10

	maxReports   = 5
	reportWindow = time.Minute

	// Wrong passwords for deleting posts, per address.
	maxDeleteGuesses = 10
	deleteWindow     = time.Hour
)

func userBudget(username string) store.Budget {
	return store.Budget{Kind: "login-user", Key: username, Max: maxFailsPerUser, Window: loginWindow}
}

func deviceBudget(id string) store.Budget {
	return store.Budget{Kind: "login-device", Key: id, Max: maxFailsPerDevice, Window: loginWindow}
}

func loginIPBudget(ip string) store.Budget {
	return store.Budget{Kind: "login-ip", Key: realip.Key(ip), Max: maxFailsPerIP, Window: loginWindow}
}

func reportBudget(ip string) store.Budget {
	return store.Budget{Kind: "report", Key: realip.Key(ip), Max: maxReports, Window: reportWindow}
}

func deleteBudget(ip string) store.Budget {
	return store.Budget{Kind: "delete-pwd", Key: realip.Key(ip), Max: maxDeleteGuesses, Window: deleteWindow}
}

// spentError is the refusal of an attempt whose budget is spent: how many
// there were, and when to try again (Retry-After).
func spentError(sp *store.Spent) error {
	secs := int((sp.Retry + time.Second - 1) / time.Second)
	var what string
	switch sp.Budget.Kind {
	case "login-user", "login-ip", "login-device":
		what = "Too many failed logins"
	case "report":
		what = fmt.Sprintf("You have sent %d reports in %s", sp.Budget.Max, span(sp.Budget.Window))
	case "captcha":
		what = fmt.Sprintf("You have asked for %d captchas in %s", sp.Budget.Max, span(sp.Budget.Window))
	case "delete-pwd":
		what = fmt.Sprintf("%d wrong passwords in %s", sp.Budget.Max, span(sp.Budget.Window))
	default:
		what = "Too many attempts"
	}
	return &maniwani.RetryLater{After: time.Duration(secs) * time.Second,
		Err: maniwani.Errorf(maniwani.KindTooMany, "%s; wait %s and try again.", what, span(time.Duration(secs)*time.Second))}
}

// release hands back slots whose attempt turned out not to count; a
// counted one keeps its slots until they leave the window.
func (s *Service) release(ctx context.Context, slots store.Slots) {
	if err := s.store.Release(context.WithoutCancel(ctx), slots); err != nil {
		s.log.Error("attempt slots not released", "err", err)
	}
}

// span says a duration as a person would: "a minute", "15 minutes", "40 seconds".
func span(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "a minute"
	case d == time.Hour:
		return "an hour"
	case d >= 2*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", (d+time.Minute-1)/time.Minute)
	case d == time.Second:
		return "a second"
	}
	return fmt.Sprintf("%d seconds", (d+time.Second-1)/time.Second)
}
