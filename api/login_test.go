package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
)

func (s *site) loginReq(name, password, ip string, cookies ...*http.Cookie) *http.Request {
	body, _ := json.Marshal(map[string]string{"username": name, "password": password})
	req, _ := http.NewRequest("POST", s.url+"/api/admin/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

// manyHashers lets every login that passes its budgets be hashed at once,
// so that tests of the budgets do not depend on how fast the machine hashes
// (TestHashGate tests the gate).
func manyHashers(c *api.Config, _ *api.Deps) { c.PasswordHashes = 32 }

// deviceCookie is the device cookie an answer sets.
func deviceCookie(t *testing.T, a answer) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == api.DeviceCookie {
			return c
		}
	}
	t.Fatalf("answer %d sets no device cookie: %v", a.code, a.header.Values("Set-Cookie"))
	return nil
}

// Wrong passwords for one account sent at once: five are checked, the
// others are refused before any hashing, however many addresses they come
// from; wrong passwords for unknown names from one address likewise stop
// at the address's ten.
func TestParallelLogins(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSiteWith(t, kind, "127.0.0.1/32", manyHashers)
		s.addStaff("mod", maniwani.RoleModerator)
		codes := s.parallel(24, func(i int) *http.Request {
			return s.loginReq("mod", fmt.Sprintf("wrong%d", i), fmt.Sprintf("10.5.0.%d", i+1))
		})
		if codes[401] != 5 || codes[429] != 19 {
			t.Errorf("24 parallel wrong logins for one account: %v, want 5 401s and 19 429s", codes)
		}
		codes = s.parallel(24, func(i int) *http.Request {
			return s.loginReq(fmt.Sprintf("nobody%d", i), "x", "10.6.0.1")
		})
		if codes[401] != 10 || codes[429] != 14 {
			t.Errorf("24 parallel logins of unknown names from one address: %v, want 10 401s and 14 429s", codes)
		}
	})
}

// An IPv6 /64 is one address for the login limit.
func TestLoginLimitIPv6(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("mod", maniwani.RoleModerator)
	for i := range 10 {
		if a := s.login(fmt.Sprintf("guess%d", i), "x", fmt.Sprintf("2001:db8:5:6::%x", i+1)); a.code != 401 {
			t.Fatalf("guess %d: %d %s", i, a.code, a.body)
		}
	}
	if a := s.login("mod", "mod-password", "2001:db8:5:6:ffff::1"); a.code != 429 {
		t.Errorf("an address of the same /64 after its 10 failures: %d, want 429", a.code)
	}
	if a := s.login("mod", "mod-password", "2001:db8:5:7::1"); a.code != 200 {
		t.Errorf("the next /64: %d %s, want 200", a.code, a.body)
	}
}

// The browsers an account has logged in from are not locked out by wrong
// passwords sent from elsewhere: each has a budget of its own.
func TestDeviceCookies(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSiteWith(t, kind, "127.0.0.1/32", manyHashers)
		s.addStaff("mod", maniwani.RoleModerator)
		s.addStaff("other", maniwani.RoleJanitor)
		// Two browsers of mod's, one of other's.
		first := s.send(s.loginReq("mod", "mod-password", "10.7.0.1"))
		if first.code != 200 {
			t.Fatalf("first login: %d %s", first.code, first.body)
		}
		devA := deviceCookie(t, first)
		if !devA.HttpOnly || devA.SameSite != http.SameSiteStrictMode || devA.Path != "/" || devA.Secure ||
			devA.MaxAge < 180*24*3600 {
			t.Errorf("device cookie %+v: want HttpOnly, SameSite=Strict, Path /, long-lived, not Secure without TLS", devA)
		}
		devB := deviceCookie(t, s.send(s.loginReq("mod", "mod-password", "10.7.0.2")))
		devOther := deviceCookie(t, s.send(s.loginReq("other", "other-password", "10.7.0.3")))

		// Strangers spend the account's budget.
		codes := s.parallel(24, func(i int) *http.Request {
			return s.loginReq("mod", "wrong", fmt.Sprintf("10.7.1.%d", i+1))
		})
		if codes[401] != 5 || codes[429] != 19 {
			t.Fatalf("attack: %v", codes)
		}
		if a := s.login("mod", "mod-password", "10.7.2.1"); a.code != 429 {
			t.Fatalf("an unknown browser with the right password during the attack: %d, want 429", a.code)
		}
		forged := *devA // one character of its MAC changed
		v := []byte(forged.Value)
		v[len(v)-2] = map[bool]byte{true: 'B', false: 'A'}[v[len(v)-2] == 'A']
		forged.Value = string(v)
		for name, c := range map[string]*http.Cookie{"forged": &forged, "another account's": devOther} {
			if a := s.send(s.loginReq("mod", "mod-password", "10.7.2.2", c)); a.code != 429 {
				t.Errorf("a %s device cookie during the attack: %d, want 429", name, a.code)
			}
		}
		// mod's own browser, from an address never seen before, logs in,
		// and its token is renewed.
		a := s.send(s.loginReq("mod", "mod-password", "10.7.3.1", devA))
		if a.code != 200 {
			t.Fatalf("mod's own browser during the attack: %d %s, want 200", a.code, a.body)
		}
		devA2 := deviceCookie(t, a)
		if devA2.Value == devA.Value {
			t.Error("the device token was not renewed")
		}
		// One browser keeps a token per account: other logs in on mod's
		// browser, and mod still can.
		a = s.send(s.loginReq("other", "other-password", "10.7.3.1", devA2))
		both := deviceCookie(t, a)
		if n := strings.Count(both.Value, ".") + 1; n != 2 {
			t.Errorf("a browser of two accounts holds %d tokens, want 2: %q", n, both.Value)
		}
		if a := s.send(s.loginReq("mod", "mod-password", "10.7.3.1", both)); a.code != 200 {
			t.Errorf("mod on the browser shared with other: %d %s", a.code, a.body)
		}
		// A device has its own small budget: spent, it is refused even the
		// right password; mod's other browser is not.
		for i := range 5 {
			if a := s.send(s.loginReq("mod", "wrong", "10.7.4.1", devB)); a.code != 401 {
				t.Fatalf("wrong password #%d from browser B: %d", i+1, a.code)
			}
		}
		if a := s.send(s.loginReq("mod", "mod-password", "10.7.4.1", devB)); a.code != 429 {
			t.Errorf("browser B past its budget: %d, want 429", a.code)
		}
		if a := s.send(s.loginReq("mod", "mod-password", "10.7.4.2", devA2)); a.code != 200 {
			t.Errorf("browser A while B is spent: %d, want 200", a.code)
		}
		// A token is good for a year, whatever the browser keeps.
		s.advance(366 * 24 * time.Hour)
		for range 5 {
			s.login("mod", "wrong", "10.7.5.1")
		}
		old := s.send(s.loginReq("mod", "mod-password", "10.7.5.2", devA2))
		if old.code != 429 {
			t.Errorf("a device token older than a year while the account is spent: %d, want 429", old.code)
		}
	})
}

// Behind a trusted TLS proxy the login's cookies are Secure; an untrusted
// peer's X-Forwarded-Proto is not believed.
func TestLoginCookiesSecure(t *testing.T) {
	for _, c := range []struct {
		trusted string
		secure  bool
	}{{"127.0.0.1/32", true}, {"", false}} {
		s := newSite(t, "sqlite", c.trusted)
		s.addStaff("mod", maniwani.RoleModerator)
		req := s.loginReq("mod", "mod-password", "10.8.0.1")
		req.Header.Set("X-Forwarded-Proto", "https")
		a := s.send(req)
		if a.code != 200 {
			t.Fatalf("login: %d %s", a.code, a.body)
		}
		cookies := (&http.Response{Header: a.header}).Cookies()
		if len(cookies) != 2 {
			t.Fatalf("cookies %v, want the session's and the device's", a.header.Values("Set-Cookie"))
		}
		for _, ck := range cookies {
			if ck.Secure != c.secure {
				t.Errorf("trusted proxies %q, X-Forwarded-Proto https: cookie %s Secure=%v, want %v", c.trusted, ck.Name, ck.Secure, c.secure)
			}
		}
	}
}

// At most n password hashes run at once; the rest wait a bounded while.
func TestHashGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := api.HashGate(2)
		var running, most atomic.Int32
		release := make(chan struct{})
		var closeOnce sync.Once
		letAllGo := func() { closeOnce.Do(func() { close(release) }) }
		defer letAllGo() // a failed check leaves none blocked
		errs := make(chan error, 5)
		for range 5 {
			go func() {
				errs <- gate(context.Background(), func() {
					n := running.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					<-release
					running.Add(-1)
				})
			}()
		}
		synctest.Wait()
		if n := running.Load(); n != 2 {
			t.Fatalf("%d hashes running at once through a gate of 2", n)
		}
		// Freed within the wait, a waiter gets its turn.
		time.Sleep(900 * time.Millisecond)
		release <- struct{}{}
		synctest.Wait()
		if err := <-errs; err != nil {
			t.Fatalf("the freed hasher's check: %v", err)
		}
		if n := running.Load(); n != 2 {
			t.Fatalf("a waiter did not take the freed hasher: %d running", n)
		}
		// Past the wait the others give up, as unavailable.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		for range 2 {
			if err := <-errs; maniwani.ErrorKind(err) != maniwani.KindUnavailable {
				t.Errorf("a check that waited a second: %v, want unavailable", err)
			}
		}
		letAllGo()
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if most.Load() != 2 {
			t.Errorf("at most %d at once", most.Load())
		}
	})
}

// A login that finds every hasher busy is answered 503 within the wait,
// and is not counted against the account.
func TestLoginBusy(t *testing.T) {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("mod", maniwani.RoleModerator)
	release := api.HoldHashers(s.svc)
	synctest.Test(t, func(t *testing.T) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/admin/login", strings.NewReader(`{"username":"mod","password":"wrong"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "10.10.0.1")
		start := time.Now()
		s.svc.Handler().ServeHTTP(w, req)
		if w.Code != 503 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "busy") {
			t.Errorf("a login with every hasher busy: %d %q %s, want 503, Retry-After 1", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("answered after %v, want the second's wait", d)
		}
	})
	release()
	for i := range 5 {
		if a := s.login("mod", "wrong", "10.10.0.1"); a.code != 401 {
			t.Fatalf("wrong password #%d after the busy one: %d (the busy one was counted)", i+1, a.code)
		}
	}
}
