package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/lru"
)

// A hot thread is read again after each of its posts, and reading every
// post's row (its text twice, body and com) cost more than all the rest of
// a page. So Thread keeps the posts it read, and reads first only each
// post's stamp: its row's number, time and version, and its files' tims and
// versions. A post whose stamp is the kept one is taken from what
// is kept; only the others' rows are read. A row's version goes up on
// every change of it, by a trigger of the database (versionTriggers), so
// no writer, present or future, can change a post without its stamp
// moving: a ban's message or a dead quote in com, a thumbnail made, a
// spoiler, a move. A deleted post is no longer in the stamps.

// threadsKept is how many threads' posts Thread keeps, the least recently
// read going first, none of a thread whose posts' text passes
// threadMaxBytes (so at most 128 MB); threadKeptFor is how long since a
// thread's last read.
const (
	threadsKept    = 32
	threadMaxBytes = 4 << 20
	threadKeptFor  = time.Hour
)

// versionTriggers are the statements that make a row's version go up with
// each change of posts and files rows, on the database dialect names.
func versionTriggers(dialect string) []string {
	if dialect == "postgres" {
		return []string{
			`CREATE OR REPLACE FUNCTION maniwani_row_version() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$`,
			`DROP TRIGGER IF EXISTS posts_version ON posts`,
			`CREATE TRIGGER posts_version BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION maniwani_row_version()`,
			`DROP TRIGGER IF EXISTS files_version ON files`,
			`CREATE TRIGGER files_version BEFORE UPDATE ON files FOR EACH ROW EXECUTE FUNCTION maniwani_row_version()`,
		}
	}
	// SQLite changes no NEW row: the trigger writes the row again, which
	// fires no trigger (recursive_triggers is off), and would stop anyway
	// as the version is then past the old one. A write of a row read
	// before (a version not past the stored one) is bumped past it too.
	var out []string
	for _, table := range []string{"posts", "files"} {
		out = append(out, `CREATE TRIGGER IF NOT EXISTS `+table+`_version AFTER UPDATE ON `+table+
			` FOR EACH ROW WHEN NEW.version <= OLD.version BEGIN UPDATE `+table+
			` SET version = OLD.version + 1 WHERE id = NEW.id; END`)
	}
	return out
}

// postStamp tells whether a kept post is still the post in the database.
// The row's number and time with its version name one state of one row: a
// board's numbers only grow (a moved post takes a new one), and a board
// made again under a deleted one's id numbers from 1 again but at other
// times. The file's tim (unique on the board, a new one for each file)
// with its version names one state of its file, or none (both 0).
type postStamp struct {
	no, created, version int64
	tim, files           int64  // the first file's tim; the count of files
	fileVersions         uint64 // each file's tim and version, in order, mixed
}

// addFile folds a post's next file (in its order) into its stamp.
func (st *postStamp) addFile(tim, version int64) {
	if st.files == 0 {
		st.tim = tim
	}
	st.files++
	// FNV-1a over the pairs: two different lists of files of one post
	// give one value only by chance, 1 in 2^64.
	h := st.fileVersions
	if h == 0 {
		h = 14695981039346656037
	}
	for _, v := range [2]int64{tim, version} {
		h ^= uint64(v)
		h *= 1099511628211
	}
	st.fileVersions = h
}

// keptPost is a post as Thread read it, and its stamp then.
type keptPost struct {
	stamp postStamp
	post  maniwani.Post // Board is set on each read: a board may be renamed
}

// keptThread is a thread's kept posts by number; made whole on each read
// and never changed after, so concurrent reads share it.
type keptThread map[int64]*keptPost

func newThreadCache() *lru.Cache[keptThread] { return lru.New[keptThread](threadsKept) }

// Thread reads a thread, live or archived, with all its posts.
func (s *Store) Thread(ctx context.Context, board string, no int64) (*maniwani.ThreadView, error) {
	db := s.db.WithContext(ctx)
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, err
	}
	var t threadRow
	err = db.Where("board_id = ? AND no = ?", b.ID, no).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound("Thread No.%d does not exist on /%s/.", no, board)
	}
	if err != nil {
		return nil, err
	}
	stamps, err := threadStamps(db, b.ID, no)
	if err != nil {
		return nil, err
	}
	if len(stamps) == 0 { // the opening post is gone: so is the thread
		return nil, notFound("Thread No.%d does not exist on /%s/.", no, board)
	}
	key := strconv.FormatInt(b.ID, 10) + "/" + strconv.FormatInt(no, 10)
	now := time.Now()
	kept, _ := s.threads.Get(key, now)
	var missing []int64
	for _, st := range stamps {
		if k := kept[st.no]; k == nil || k.stamp != st {
			missing = append(missing, st.no)
		}
	}
	read, err := readPosts(db, b.ID, no, missing, len(missing) > len(stamps)/2)
	if err != nil {
		return nil, err
	}
	s.postRowsRead.Add(int64(len(read)))
	fresh := make(keptThread, len(stamps))
	size := 0
	v := &maniwani.ThreadView{Thread: t.domain(board), Posts: make([]maniwani.Post, 0, len(stamps))}
	for _, st := range stamps {
		k := read[st.no]
		if k == nil {
			if k = kept[st.no]; k == nil || k.stamp != st {
				continue // deleted since its stamp was read
			}
		}
		fresh[st.no] = k
		size += keptSize(&k.post)
		p := k.post.Clone() // the caller's to change
		p.Board = board
		v.Posts = append(v.Posts, p)
	}
	if len(v.Posts) == 0 || v.Posts[0].No != no {
		return nil, notFound("Thread No.%d does not exist on /%s/.", no, board)
	}
	if err := countPosters(db, b.ID, []*maniwani.ThreadView{v}); err != nil {
		return nil, err
	}
	if !t.Archived {
		var before int64
		err := db.Model(&threadRow{}).Where("board_id = ? AND archived = ? AND (sticky > ? OR (sticky = ? AND "+
			"(bumped_us > ? OR (bumped_us = ? AND no > ?))))", b.ID, false, t.Sticky, t.Sticky, t.BumpedUS, t.BumpedUS, t.No).
			Count(&before).Error
		if err != nil {
			return nil, err
		}
		v.Page = int(before)/maniwani.ThreadsPerPage + 1
	}
	if size <= threadMaxBytes {
		s.threads.Put(key, fresh, now.Add(threadKeptFor))
	} else {
		s.threads.Remove(key)
	}
	return v, nil
}

// keptSize is about the bytes a kept post holds.
func keptSize(p *maniwani.Post) int {
	n := 200 + len(p.Name) + len(p.Trip) + len(p.PosterID) + len(p.Subject) + len(p.Body) + len(p.Com) + len(p.IP) + len(p.PasswordHash)
	for _, f := range p.Files() {
		n += 100 + len(f.Filename) + len(f.Ext) + len(f.MD5) + len(f.SHA256)
	}
	return n
}

// threadStamps are the stamps of a thread's published posts, in order.
// Scanned by hand: they are what every read of a hot thread reads.
func threadStamps(db *gorm.DB, boardID, no int64) ([]postStamp, error) {
	rows, err := db.Raw(`SELECT p.no, p.created_us, p.version, COALESCE(f.tim, 0), COALESCE(f.version, 0)
		FROM posts p LEFT JOIN files f ON f.board_id = p.board_id AND f.post_no = p.no
		WHERE p.board_id = ? AND p.thread_no = ? AND p.held = ? ORDER BY p.no, f.idx`, boardID, no, false).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []postStamp
	for rows.Next() {
		var st postStamp
		var tim, version int64
		if err := rows.Scan(&st.no, &st.created, &st.version, &tim, &version); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].no == st.no { // a further file of the post
			out[n-1].addFile(tim, version)
			continue
		}
		if tim != 0 {
			st.addFile(tim, version)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// readPosts reads the rows of a thread's posts nos (all of its published
// posts when all is set) and their files, with the stamps they have as
// read.
func readPosts(db *gorm.DB, boardID, thread int64, nos []int64, all bool) (map[int64]*keptPost, error) {
	if len(nos) == 0 {
		return nil, nil
	}
	var rows []postRow
	var files []fileRow
	if all {
		if err := db.Where("board_id = ? AND thread_no = ? AND held = ?", boardID, thread, false).Find(&rows).Error; err != nil {
			return nil, err
		}
		err := db.Where("board_id = ? AND post_no IN (SELECT no FROM posts WHERE board_id = ? AND thread_no = ? AND held = ?)",
			boardID, boardID, thread, false).Find(&files).Error
		if err != nil {
			return nil, err
		}
	} else {
		err := db.Where("board_id = ? AND thread_no = ? AND held = ? AND no IN ?", boardID, thread, false, nos).Find(&rows).Error
		if err != nil {
			return nil, err
		}
		if err := db.Where("board_id = ? AND post_no IN ?", boardID, nos).Find(&files).Error; err != nil {
			return nil, err
		}
	}
	slices.SortFunc(files, func(a, b fileRow) int { return cmp.Compare(a.Idx, b.Idx) })
	byNo := make(map[int64][]*fileRow, len(files))
	for i := range files {
		byNo[files[i].PostNo] = append(byNo[files[i].PostNo], &files[i])
	}
	out := make(map[int64]*keptPost, len(rows))
	for i := range rows {
		r := &rows[i]
		k := &keptPost{post: r.domain(""), stamp: postStamp{no: r.No, created: r.CreatedUS, version: r.Version}}
		for j, f := range byNo[r.No] {
			if j == 0 {
				k.post.File = f.domain()
			} else {
				k.post.Extra = append(k.post.Extra, *f.domain())
			}
			k.stamp.addFile(f.Tim, f.Version)
		}
		out[r.No] = k
	}
	return out, nil
}
