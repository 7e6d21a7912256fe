package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/upload"
	"github.com/maniwani/maniwani/api/upload/phash"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// File bans: a banned file is refused on upload by its SHA-256, looked up
// in the database before any decode, and, for the bans made with similar,
// by its perceptual hash, compared with a list of them this process keeps.

// similarBansTTL bounds how long a process uses its list of similar bans
// before it reads them again: a ban made or lifted through another api
// instance takes effect here within it (through this one, at once).
const similarBansTTL = 5 * time.Second

// similarBan is what a near copy is compared with.
type similarBan struct {
	hash   uint64
	id     int64
	reason string
}

// similarList is the similar bans as read at a moment.
type similarList struct {
	at   time.Time
	bans []similarBan
}

// match is the first ban whose hash is within phash.Threshold of h: a
// linear scan, a few microseconds for ten thousand bans (BenchmarkSimilarMatch).
func (l *similarList) match(h uint64) *similarBan {
	for i := range l.bans {
		if phash.Similar(l.bans[i].hash, h) {
			return &l.bans[i]
		}
	}
	return nil
}

// similarCache holds the similar bans for the posts' checks.
type similarCache struct {
	cur    atomic.Pointer[similarList]
	reload sync.Mutex // held by the one request reading the bans again
	// gen counts the changes made through this process: a list read
	// while one was made is used once, not kept.
	gen atomic.Int64
}

// similarBans is the list of similar bans, read again when it is older
// than similarBansTTL: by one request, while the others go on with the
// list they have (unless there is none yet).
func (s *Service) similarBans(ctx context.Context) (*similarList, error) {
	c := &s.similar
	l := c.cur.Load()
	if l != nil && s.now().Sub(l.at) < similarBansTTL {
		return l, nil
	}
	if l != nil {
		if !c.reload.TryLock() {
			return l, nil
		}
	} else {
		c.reload.Lock()
	}
	defer c.reload.Unlock()
	if cur := c.cur.Load(); cur != nil && cur != l && s.now().Sub(cur.at) < similarBansTTL {
		return cur, nil // read meanwhile
	}
	at, gen := s.now(), c.gen.Load()
	bans, err := s.store.SimilarFileBans(ctx)
	if err != nil {
		if l != nil {
			s.log.Warn("similar file bans not read again; the older list is used", "err", err)
			return l, nil
		}
		return nil, err
	}
	nl := &similarList{at: at, bans: make([]similarBan, len(bans))}
	for i, b := range bans {
		nl.bans[i] = similarBan{hash: b.PHash, id: b.ID, reason: b.Reason}
	}
	if c.gen.Load() == gen {
		c.cur.Store(nl)
	}
	return nl, nil
}

// forgetSimilarBans makes the next check read the similar bans again:
// they changed.
func (s *Service) forgetSimilarBans() {
	s.similar.gen.Add(1)
	s.similar.cur.Store(nil)
}

func fileBanned(reason string) error {
	return maniwani.Errorf(maniwani.KindForbidden, "This file is banned. Reason: %s", reason)
}

// checkFileBan refuses the bytes sha if they are banned.
func (s *Service) checkFileBan(ctx context.Context, sha string) error {
	b, err := s.store.FileBanFor(ctx, sha)
	if err != nil {
		return err
	}
	if b != nil {
		return fileBanned(b.Reason)
	}
	return nil
}

// fileBanOut is a ban as the staff API gives it.
func fileBanOut(b *maniwani.FileBan) maniwani.StaffFileBan {
	out := maniwani.StaffFileBan{ID: b.ID, SHA256: b.SHA256, Similar: b.Similar, Reason: b.Reason,
		Staff: b.Staff, Created: maniwani.Timestamp{Time: b.Created}}
	if b.HasPHash {
		out.PHash = fmt.Sprintf("%016x", b.PHash)
	}
	return out
}

func (s *Service) handleFileBans(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	out, err := s.listFileBans(r.Context(), st)
	s.answer(w, r, http.StatusOK, maniwani.StaffFileBans{FileBans: out}, err)
}

func (s *Service) listFileBans(ctx context.Context, _ *staffRequest) ([]maniwani.StaffFileBan, error) {
	bs, err := s.store.FileBans(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]maniwani.StaffFileBan, len(bs))
	for i := range bs {
		out[i] = fileBanOut(&bs[i])
	}
	return out, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// handleCreateFileBan: POST /api/admin/filebans {"sha256" or "board"+"no",
// "similar", "delete", "reason"}. The banned file's perceptual hash is
// made now, from its stored bytes, when it is an image; "delete" (which
// needs the permission to delete posts) deletes every post with the file,
// on every board.
func (s *Service) handleCreateFileBan(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	in, err := bodyOf[maniwani.FileBanRequest](r)
	var out *maniwani.StaffFileBan
	if err == nil {
		out, err = s.createFileBan(r.Context(), st, in)
	}
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Service) createFileBan(ctx context.Context, st *staffRequest, in maniwani.FileBanRequest) (*maniwani.StaffFileBan, error) {
	reason := strings.TrimSpace(in.Reason)
	sha := strings.ToLower(strings.TrimSpace(in.SHA256))
	var ref maniwani.FileRef
	switch {
	case reason == "" || utf8.RuneCountInString(reason) > 1000:
		return nil, invalid("A file ban needs a reason of 1 to 1,000 characters; a poster of the file sees it.")
	case sha != "" && (in.Board != "" || in.No != 0):
		return nil, invalid("Send sha256, or board and no, not both.")
	case sha != "":
		if !sha256Hex.MatchString(sha) {
			return nil, invalid("sha256 is 64 hex digits.")
		}
		var err error
		if ref, err = s.store.FileBySHA(ctx, sha); err != nil && maniwani.ErrorKind(err) != maniwani.KindNotFound {
			return nil, err
		}
	case in.Board != "" && in.No > 0:
		p, err := s.store.Post(ctx, in.Board, in.No)
		if err != nil {
			return nil, err
		}
		if p.File == nil {
			return nil, invalid("Post No.%d has no file.", in.No)
		}
		ref = maniwani.FileRef{Board: p.Board, Tim: p.File.Tim, SHA256: p.File.SHA256, Ext: p.File.Ext}
		sha = ref.SHA256
	default:
		return nil, invalid("Say which file to ban: sha256, or board and no of a post with it.")
	}
	if in.Delete && !st.staff.Role.Can(maniwani.PermDelete) {
		return nil, maniwani.Errorf(maniwani.KindForbidden, "A %s may not delete posts.", st.staff.Role)
	}
	ban := maniwani.FileBan{SHA256: sha, Similar: in.Similar, Reason: reason, Staff: st.staff.Username, Created: s.now()}
	// An image's hash is kept even without similar, for the staff API to
	// show: it costs the ban one decode, and the posts none.
	if in.Similar || ref.Board != "" && upload.Hashable(ref.Ext) {
		h, err := s.storedHash(ctx, st, ref)
		switch {
		case err == nil:
			ban.PHash, ban.HasPHash = h, true
		case in.Similar:
			return nil, err
		default:
			s.log.Warn("banned image not hashed", "sha256", sha, "err", err)
		}
	}
	action := "ban file"
	if in.Similar {
		action = "ban file and near copies"
	}
	if in.Delete {
		action += ", delete its posts"
	}
	id, d, err := s.store.CreateFileBan(ctx, ban, in.Delete, s.logEntry(st, action, sha, reason))
	if err != nil {
		return nil, err
	}
	if ban.Similar {
		s.forgetSimilarBans()
	}
	ban.ID = id
	out := fileBanOut(&ban)
	if in.Delete {
		n := len(d.Posts)
		out.Deleted = &n
		s.afterFileBanDelete(ctx, d.Posts, d.Threads)
		s.removeFiles(ctx, d.Files)
	}
	return &out, nil
}

// storedHash is the perceptual hash of the stored bytes of ref, made in
// the decode gate as an upload's is.
func (s *Service) storedHash(ctx context.Context, st *staffRequest, ref maniwani.FileRef) (uint64, error) {
	switch {
	case ref.Board == "":
		return 0, invalid("No post has this file, so its image cannot be hashed: similar needs one that does.")
	case !upload.Hashable(ref.Ext):
		return 0, invalid("similar catches near copies of images; a %s file is banned by its exact bytes only.", ref.Ext)
	case s.deps.Media == nil:
		return 0, maniwani.Errorf(maniwani.KindUnavailable, "This server stores no files.")
	}
	blob, err := s.deps.Media.Original(ctx, ref)
	if err != nil {
		return 0, err
	}
	defer blob.Close()
	release, err := s.decodes.enter(ctx, "staff:"+st.staff.Username)
	if err != nil {
		return 0, err
	}
	defer release()
	var h uint64
	runLow(func() { h, err = upload.PerceptualHash(blob, ref.Ext, s.cfg.MaxPixels) })
	return h, err
}

// hashFile is the perceptual hash of an upload.
func (s *Service) hashFile(f *upload.File) (uint64, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	return upload.PerceptualHash(fh, f.Ext, s.cfg.MaxPixels)
}

// afterFileBanDelete tells the caches and the live viewers of the posts a
// file ban deleted, board by board.
func (s *Service) afterFileBanDelete(ctx context.Context, posts []maniwani.Ref, threads []int64) {
	var order []string
	byBoard := map[string][]int{}
	for i, p := range posts {
		if byBoard[p.Board] == nil {
			order = append(order, p.Board)
		}
		byBoard[p.Board] = append(byBoard[p.Board], i)
	}
	for _, board := range order {
		var ts []int64
		var events []*pb.Event
		for _, i := range byBoard[board] {
			ts = append(ts, threads[i])
			events = append(events, &pb.Event{Kind: &pb.Event_PostDeleted{PostDeleted: &pb.PostDeleted{
				Board: board, No: posts[i].No, Thread: threads[i]}}})
		}
		s.afterCommit(ctx, maniwani.Invalidation{Board: board, Threads: ts}, events...)
	}
}

func (s *Service) handleDeleteFileBan(w http.ResponseWriter, r *http.Request, st *staffRequest) {
	id, err := pathID(r)
	if err == nil {
		err = s.liftFileBan(r.Context(), st, id)
	}
	s.answer(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) liftFileBan(ctx context.Context, st *staffRequest, id int64) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := s.store.DeleteFileBan(ctx, id, s.logEntry(st, "lift file ban", "", "")); err != nil {
		return err
	}
	s.forgetSimilarBans()
	return nil
}
