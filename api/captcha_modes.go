package api

import (
	"context"
	"time"

	"github.com/maniwani/maniwani"
)

// A board's captcha mode rises by itself under a flood: once the board has
// had captcha_auto_threads_per_hour new threads in the last hour, a new
// thread needs a captcha (threads), and once it has had
// captcha_auto_posts_per_hour posts, every post does (all), for
// captcha_auto_minutes; then the mode falls back to the board's own.
//
// The flood is counted from the posts themselves (store.Recent: the n-th
// newest thread or post, read from an index, is within the hour or not), and
// only while the mode in force is below what it could raise it to: under a
// flood, once raised, posts count nothing.

// captchaMode is the mode in force on board b for a post in thread resto
// (0: a new thread) at now, raised first if the flood calls for it.
func (s *Service) captchaMode(ctx context.Context, b *maniwani.Board, resto int64, now time.Time) (maniwani.CaptchaMode, error) {
	mode := b.CaptchaAt(now)
	target := mode
	since := now.Add(-time.Hour)
	if b.CaptchaAutoPosts > 0 && !target.AtLeast(maniwani.CaptchaAll) {
		flood, err := s.store.Recent(ctx, b.Name, false, b.CaptchaAutoPosts, since)
		if err != nil {
			return mode, err
		}
		if flood {
			target = maniwani.CaptchaAll
		}
	}
	// Only a new thread can need a captcha for threads.
	if resto == 0 && b.CaptchaAutoThreads > 0 && !target.AtLeast(maniwani.CaptchaThreads) {
		flood, err := s.store.Recent(ctx, b.Name, true, b.CaptchaAutoThreads, since)
		if err != nil {
			return mode, err
		}
		if flood {
			target = maniwani.CaptchaThreads
		}
	}
	if target == mode {
		return mode, nil
	}
	minutes := b.CaptchaAutoMinutes
	if minutes <= 0 {
		minutes = maniwani.DefaultCaptchaAutoMinutes
	}
	until := now.Add(time.Duration(minutes) * time.Minute)
	changed, err := s.store.RaiseCaptcha(ctx, b.Name, target, now, until)
	if err != nil {
		return mode, err
	}
	if changed {
		s.log.Info("captcha raised by a flood", "board", b.Name, "mode", target, "until", until)
		// boards.json shows the mode in force.
		s.afterCommit(ctx, maniwani.Invalidation{Board: b.Name})
	}
	b.CaptchaRaised, b.CaptchaRaisedUntil = target, until
	return target, nil
}

// lowerEvery is how often WatchCaptcha looks for raised modes whose time
// is up: how late, at most, boards.json learns that one fell.
const lowerEvery = 30 * time.Second

// WatchCaptcha lowers, until ctx ends, the boards' captcha modes that a
// flood raised once their time is up, and drops the cached answers that
// show them. A post needs no watcher to see the mode fall (the mode in
// force is reckoned from the time); the cached boards.json does.
func (s *Service) WatchCaptcha(ctx context.Context) error {
	tick := time.NewTicker(lowerEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.lowerCaptchas(ctx)
		}
	}
}

func (s *Service) lowerCaptchas(ctx context.Context) {
	lowered, err := s.store.LowerCaptchas(ctx, s.now())
	if err != nil && ctx.Err() == nil {
		s.log.Error("raised captcha modes not lowered", "err", err)
	}
	for _, name := range lowered {
		s.log.Info("captcha lowered after a flood", "board", name)
		s.afterCommit(ctx, maniwani.Invalidation{Board: name})
	}
}
