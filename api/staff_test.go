package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/stafftest"
)

// staffSite is the stafftest site of a new api site, with staff as its
// StaffAPI: the api itself, or its client.
func staffSite(t *testing.T, staff func(*site) maniwani.StaffAPI) stafftest.Site {
	s := newSite(t, "sqlite", "127.0.0.1/32")
	s.addStaff("admin", maniwani.RoleAdmin)
	return stafftest.Site{Staff: staff(s), AdminPassword: "admin-password", Proxy: "127.0.0.1:4000",
		Post: func(t *testing.T, board string, thread int64, ip, com string) int64 {
			a := s.post(board, ip, "resto", fmt.Sprint(thread), "com", com)
			if a.code != http.StatusCreated && a.code != http.StatusAccepted { // held for review
				t.Fatalf("post answered %d: %s", a.code, a.body)
			}
			return int64(a.json(t)["no"].(float64))
		},
		Report: func(t *testing.T, board string, no int64, reason string) {
			if a := s.sendForm("/"+board+"/report", "10.99.0.1", "no", fmt.Sprint(no), "reason", reason); a.code != http.StatusCreated {
				t.Fatalf("report: %d %s", a.code, a.body)
			}
		}}
}

// The api in one process is a StaffAPI.
func TestStaffAPIService(t *testing.T) {
	stafftest.Run(t, func(t *testing.T) stafftest.Site {
		return staffSite(t, func(s *site) maniwani.StaffAPI { return s.svc })
	})
}

// Its client, over the staff API's routes, is the same StaffAPI.
func TestStaffAPIClient(t *testing.T) {
	stafftest.Run(t, func(t *testing.T) stafftest.Site {
		return staffSite(t, func(s *site) maniwani.StaffAPI { return api.NewClient(s.url, "") })
	})
}

// A staff API not reached, or answered for by a proxy, is unavailable, in
// words for the page rather than the proxy's.
func TestStaffAPIClientUnreached(t *testing.T) {
	ctx := t.Context()
	call := maniwani.StaffCall{Session: "s"}
	_, err := api.NewClient("http://127.0.0.1:1", "").Session(ctx, call)
	if maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Errorf("api down: %v", err)
	}
	_, err = api.NewClient("", "").Session(ctx, call)
	if maniwani.ErrorKind(err) != maniwani.KindUnavailable {
		t.Errorf("no address: %v", err)
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer proxy.Close()
	_, err = api.NewClient(proxy.URL, "").Session(ctx, call)
	if maniwani.ErrorKind(err) != maniwani.KindUnavailable || maniwani.ErrorMessage(err) != "The staff API is unavailable." {
		t.Errorf("a proxy's 502: %v", err)
	}
}
