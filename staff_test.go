package maniwani_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
)

// The staff API's answers, byte for byte as they were when the api wrote
// them from maps (the contract's Staff API): field names, null for a missing
// file, post or expiry, no ip for a role that may not see it, [] for no
// deletions.
func TestStaffAnswersJSON(t *testing.T) {
	tm := maniwani.Timestamp{Time: time.Date(2026, 11, 22, 10, 0, 0, 5, time.FixedZone("x", 3600))}
	post := &maniwani.StaffPost{Board: "b", No: 34, Thread: 12, Time: tm, Name: "Anon<", Trip: "!trip", Sub: "s&",
		Com: "<b>c</b>", IP: "10.0.0.1", File: &maniwani.StaffFile{Tim: 1700000000123, Ext: ".png", Filename: "cat",
			Size: 1234, W: 10, H: 20, TnW: 5, TnH: 6, Spoiler: true, MD5: "md5==", SHA256: "ab"}}
	b := maniwani.DefaultBoard()
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"post with its address and file", post, `{"board":"b","com":"\u003cb\u003ec\u003c/b\u003e","file":{"ext":".png","filename":"cat","fsize":1234,"h":20,"md5":"md5==","sha256":"ab","spoiler":true,"tim":1700000000123,"tn_h":6,"tn_w":5,"w":10},"ip":"10.0.0.1","name":"Anon\u003c","no":34,"sub":"s\u0026","thread":12,"time":"2026-11-22T09:00:00Z","trip":"!trip"}`},
		{"post as a janitor sees it", maniwani.StaffPost{Board: "b", No: 12, Thread: 12, Time: tm, Name: "Anonymous", Com: "op"}, `{"board":"b","com":"op","file":null,"name":"Anonymous","no":12,"sub":"","thread":12,"time":"2026-11-22T09:00:00Z","trip":""}`},
		{"permanent ban", maniwani.StaffBan{ID: 3, CIDR: "10.0.0.0/24", Reason: "r", Staff: "adm", Created: tm}, `{"board":"","cidr":"10.0.0.0/24","created":"2026-11-22T09:00:00Z","expires":null,"id":3,"reason":"r","staff":"adm"}`},
		{"ban that ends", maniwani.StaffBan{ID: 4, CIDR: "10.0.0.1/32", Reason: "r", Board: "b", Staff: "adm", Created: tm,
			Expires: maniwani.Timestamp{Time: tm.Add(time.Hour)}}, `{"board":"b","cidr":"10.0.0.1/32","created":"2026-11-22T09:00:00Z","expires":"2026-11-22T10:00:00Z","id":4,"reason":"r","staff":"adm"}`},
		{"report of a post gone", maniwani.StaffReport{ID: 1, Board: "b", No: 34, Reason: "spam", Created: tm}, `{"board":"b","created":"2026-11-22T09:00:00Z","id":1,"no":34,"post":null,"reason":"spam"}`},
		{"staff member", maniwani.StaffMember{Username: "adm", Role: maniwani.RoleAdmin, Created: tm}, `{"created":"2026-11-22T09:00:00Z","role":"admin","username":"adm"}`},
		{"log entry", maniwani.StaffLogEntry{Time: tm, Staff: "adm", Action: "a", Target: "/b/1"}, `{"action":"a","reason":"","staff":"adm","target":"/b/1","time":"2026-11-22T09:00:00Z"}`},
		{"session", maniwani.StaffSession{Username: "adm", Role: maniwani.RoleAdmin, CSRFToken: "tok",
			Permissions: maniwani.RoleAdmin.Permissions()}, `{"csrf_token":"tok","permissions":["reports","delete","ips","ban","threads","log","boards","staff","wide_bans"],"role":"admin","username":"adm"}`},
		{"file deleted", maniwani.StaffDeleted{Deleted: []int64{}, File: true}, `{"deleted":[],"file":true}`},
		{"posts deleted", maniwani.StaffDeleted{Deleted: []int64{1, 2}}, `{"deleted":[1,2]}`},
		{"nothing deleted", maniwani.StaffDeleted{Deleted: []int64{}}, `{"deleted":[]}`},
		{"thread", maniwani.StaffThread{Board: "b", No: 12, Sticky: true}, `{"board":"b","closed":false,"no":12,"sticky":true}`},
		{"boards", maniwani.StaffBoards{Boards: []maniwani.BoardSettings{b.Settings()}}, `{"boards":[{"name":"b","title":"Random","description":"The stories and information posted here are artistic works of fiction and falsehood.","max_threads":150,"bump_limit":300,"image_limit":150,"max_file_size":8388608,"cooldown_thread":30,"cooldown_reply":10,"poster_ids":false,"max_files":1,"file_types":[".jpg",".png",".gif",".webp",".webm",".mp4"],"unique_comments_minutes":0,"captcha":"off","captcha_auto_threads_per_hour":0,"captcha_auto_posts_per_hour":0,"captcha_auto_minutes":60,"hold_new_posters":false}]}`},
		{"filter", maniwani.StaffFilter{ID: 2, Pattern: "f[o0]+", Regex: true, Fields: []maniwani.FilterField{maniwani.FieldCom},
			Action: maniwani.ActionReplace, Replacement: "nice", Staff: "adm", Created: tm},
			`{"action":"replace","ban_hours":0,"board":"","created":"2026-11-22T09:00:00Z","fields":["com"],"id":2,"pattern":"f[o0]+","reason":"","regex":true,"replacement":"nice","staff":"adm"}`},
		{"purged", maniwani.StaffPurged{Deleted: 5}, `{"deleted":5}`},
		{"empty lists", []any{maniwani.StaffBans{Bans: []maniwani.StaffBan{}}, maniwani.StaffReports{Reports: []maniwani.StaffReport{}},
			maniwani.StaffList{Staff: []maniwani.StaffMember{}}, maniwani.StaffLog{Log: []maniwani.StaffLogEntry{}}, maniwani.StaffFilters{Filters: []maniwani.StaffFilter{}}},
			`[{"bans":[]},{"reports":[]},{"staff":[]},{"log":[]},{"filters":[]}]`},
	} {
		got, err := json.Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got %s %v\nwant %s", c.name, got, err, c.want)
		}
	}
}

// What the api writes, the ui reads back the same.
func TestStaffAnswersRoundTrip(t *testing.T) {
	in := maniwani.StaffReports{Reports: []maniwani.StaffReport{{ID: 1, Board: "b", No: 2, Reason: "x",
		Created: maniwani.Timestamp{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Post:    &maniwani.StaffPost{Board: "b", No: 2, Thread: 1, File: &maniwani.StaffFile{Tim: 9, Spoiler: true}}}}}
	b, _ := json.Marshal(in)
	var out maniwani.StaffReports
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(out)
	if string(again) != string(b) || !out.Reports[0].Created.Equal(in.Reports[0].Created.Time) || !out.Reports[0].Post.Time.IsZero() {
		t.Errorf("%s came back as %s", b, again)
	}
}

// The staff API's requests carry the contract's field names, and only the
// fields set.
func TestStaffRequestsJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	yes, n := true, 20
	types := []string{}
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"login", maniwani.StaffLogin{Username: "adm", Password: "pw"}, `{"username":"adm","password":"pw"}`},
		{"board", maniwani.BoardPatch{Name: str("g"), Title: str("Tech"), MaxThreads: &n, PosterIDs: &yes, FileTypes: &types},
			`{"name":"g","title":"Tech","max_threads":20,"poster_ids":true,"file_types":[]}`},
		{"empty patch", maniwani.BoardPatch{}, `{}`},
		{"thread", maniwani.ThreadPatch{Sticky: &yes, Board: str("g")}, `{"sticky":true,"board":"g"}`},
		{"ban", maniwani.BanRequest{IP: "10.0.0.1", Reason: "spam", Duration: "72h", Post: &maniwani.PostRef{Board: "b", No: 3},
			Public: true, ConfirmWide: true}, `{"ip":"10.0.0.1","reason":"spam","duration":"72h","post":{"board":"b","no":3},"public":true,"confirm_wide":true}`},
		{"range ban", maniwani.BanRequest{CIDR: "10.0.0.0/24", Reason: "r", Expires: "2030-01-02T15:04:05Z", Board: "b"},
			`{"cidr":"10.0.0.0/24","reason":"r","expires":"2030-01-02T15:04:05Z","board":"b"}`},
		{"staff", maniwani.NewStaffMember{Username: "jan", Password: "pw", Role: maniwani.RoleJanitor},
			`{"username":"jan","password":"pw","role":"janitor"}`},
	} {
		got, err := json.Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got %s %v\nwant %s", c.name, got, err, c.want)
		}
	}
}
