package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/maniwani/maniwani"
)

func (r *threadRow) domain(board string) maniwani.Thread {
	return maniwani.Thread{
		Board: board, No: r.No, Sticky: r.Sticky, Closed: r.Closed, Archived: r.Archived,
		Replies: r.Replies, Images: r.Images, Bumped: usToTime(r.BumpedUS),
		Modified: usToTime(r.ModifiedUS), Archive: usToTime(r.ArchivedUS),
	}
}

func (r *fileRow) domain() *maniwani.File {
	return &maniwani.File{
		Tim: r.Tim, Filename: r.Filename, Ext: r.Ext, Size: r.Size, MD5: r.MD5, SHA256: r.SHA256,
		Width: r.Width, Height: r.Height, ThumbW: r.ThumbW, ThumbH: r.ThumbH,
		Spoiler: r.Spoiler, Thumbnail: r.Thumbnail,
	}
}

// countPosters fills in each thread's Posters: the distinct keys of its
// published posts, in one query.
func countPosters(db *gorm.DB, boardID int64, views []*maniwani.ThreadView) error {
	if len(views) == 0 {
		return nil
	}
	nos := make([]int64, len(views))
	for i, v := range views {
		nos[i] = v.No
	}
	var rows []struct {
		ThreadNo int64
		N        int
	}
	err := db.Model(&postRow{}).Select("thread_no, COUNT(DISTINCT ip_key) AS n").
		Where("board_id = ? AND thread_no IN ? AND held = ?", boardID, nos, false).Group("thread_no").Scan(&rows).Error
	if err != nil {
		return err
	}
	by := make(map[int64]int, len(rows))
	for _, r := range rows {
		by[r.ThreadNo] = r.N
	}
	for _, v := range views {
		v.Posters = by[v.No]
	}
	return nil
}

// Threads reads the board's live threads in index order (stickies first,
// then the most recently bumped), skipping offset and taking at most limit,
// each with its opening post and its last `last` replies.
func (s *Store) Threads(ctx context.Context, board string, offset, limit, last int) ([]maniwani.ThreadView, error) {
	db := s.db.WithContext(ctx)
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, err
	}
	var threads []threadRow
	err = db.Where("board_id = ? AND archived = ?", b.ID, false).
		Order("sticky DESC, bumped_us DESC, no DESC").Offset(offset).Limit(limit).Find(&threads).Error
	if err != nil || len(threads) == 0 {
		return nil, err
	}
	nos := make([]int64, len(threads))
	for i := range threads {
		nos[i] = threads[i].No
	}
	// Opening posts, then the last replies of every thread in one query: a
	// window function numbers each thread's replies from the newest.
	var ops []postRow
	if err := db.Where("board_id = ? AND no IN ? AND held = ?", b.ID, nos, false).Find(&ops).Error; err != nil {
		return nil, err
	}
	var replies []postRow
	if last > 0 {
		err = db.Raw(`SELECT * FROM (
			SELECT posts.*, ROW_NUMBER() OVER (PARTITION BY thread_no ORDER BY no DESC) AS rn
			FROM posts WHERE board_id = ? AND thread_no IN ? AND no <> thread_no AND held = ?) AS r
			WHERE rn <= ? ORDER BY no`, b.ID, nos, false, last).Scan(&replies).Error
		if err != nil {
			return nil, err
		}
	}
	byNo := make(map[int64]*maniwani.ThreadView, len(threads))
	out := make([]maniwani.ThreadView, len(threads))
	for i := range threads {
		out[i].Thread = threads[i].domain(board)
		byNo[threads[i].No] = &out[i]
	}
	for i := range ops {
		if v := byNo[ops[i].No]; v != nil {
			v.Posts = append([]maniwani.Post{ops[i].domain(board)}, v.Posts...)
		}
	}
	for i := range replies {
		if v := byNo[replies[i].ThreadNo]; v != nil && len(v.Posts) > 0 {
			v.Posts = append(v.Posts, replies[i].domain(board))
		}
	}
	// A thread whose opening post is gone is not shown.
	kept := out[:0]
	for _, v := range out {
		if len(v.Posts) == 0 {
			continue
		}
		v.OmittedPosts = v.Replies - (len(v.Posts) - 1)
		kept = append(kept, v)
	}
	var all []maniwani.Post
	for _, v := range kept {
		all = append(all, v.Posts...)
	}
	if err := s.attachFiles(db, b.ID, all); err != nil {
		return nil, err
	}
	for i := range kept {
		kept[i].Posts = all[:len(kept[i].Posts):len(kept[i].Posts)]
		all = all[len(kept[i].Posts):]
		shown := 0
		for _, p := range kept[i].Posts[1:] {
			if p.File != nil {
				shown += 1 + len(p.Extra)
			}
		}
		kept[i].OmittedImages = kept[i].Images - shown
	}
	ptrs := make([]*maniwani.ThreadView, len(kept))
	for i := range kept {
		ptrs[i] = &kept[i]
	}
	if err := countPosters(db, b.ID, ptrs); err != nil {
		return nil, err
	}
	// In index order: a thread's place is its page. (A thread whose
	// opening post is gone takes no place on the pages either.)
	for i := range kept {
		kept[i].Page = (offset+i)/maniwani.ThreadsPerPage + 1
	}
	return kept, nil
}

// Archived lists the numbers of the board's archived threads, oldest first.
func (s *Store) Archived(ctx context.Context, board string) ([]int64, error) {
	db := s.db.WithContext(ctx)
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, err
	}
	nos := []int64{}
	err = db.Model(&threadRow{}).Where("board_id = ? AND archived = ?", b.ID, true).
		Order("no").Pluck("no", &nos).Error
	return nos, err
}

// Archive reads the board's archived threads, the most recently archived
// first, at most limit, each with its opening post.
func (s *Store) Archive(ctx context.Context, board string, limit int) ([]maniwani.ThreadView, error) {
	db := s.db.WithContext(ctx)
	b, err := s.boardRow(db, board)
	if err != nil {
		return nil, err
	}
	var threads []threadRow
	err = db.Where("board_id = ? AND archived = ?", b.ID, true).
		Order("archived_us DESC, no DESC").Limit(limit).Find(&threads).Error
	if err != nil || len(threads) == 0 {
		return nil, err
	}
	nos := make([]int64, len(threads))
	for i := range threads {
		nos[i] = threads[i].No
	}
	var ops []postRow
	if err := db.Where("board_id = ? AND no IN ? AND held = ?", b.ID, nos, false).Find(&ops).Error; err != nil {
		return nil, err
	}
	byNo := make(map[int64]maniwani.Post, len(ops))
	for i := range ops {
		byNo[ops[i].No] = ops[i].domain(board)
	}
	out := make([]maniwani.ThreadView, 0, len(threads))
	for i := range threads {
		op, ok := byNo[threads[i].No]
		if !ok {
			continue
		}
		out = append(out, maniwani.ThreadView{Thread: threads[i].domain(board), Posts: []maniwani.Post{op}})
	}
	return out, nil
}

// attachFiles fills in the File of each post that has one; posts are few
// (an index page's), so their numbers go in the query.
func (s *Store) attachFiles(db *gorm.DB, boardID int64, posts []maniwani.Post) error {
	if len(posts) == 0 {
		return nil
	}
	nos := make([]int64, len(posts))
	for i := range posts {
		nos[i] = posts[i].No
	}
	var files []fileRow
	if err := db.Where("board_id = ? AND post_no IN ?", boardID, nos).Find(&files).Error; err != nil {
		return err
	}
	attach(posts, files)
	return nil
}

// attach gives each post its files among files, in their order.
func attach(posts []maniwani.Post, files []fileRow) {
	if len(files) == 0 {
		return
	}
	slices.SortFunc(files, func(a, b fileRow) int { return cmp.Compare(a.Idx, b.Idx) })
	byNo := make(map[int64][]*fileRow, len(files))
	for i := range files {
		byNo[files[i].PostNo] = append(byNo[files[i].PostNo], &files[i])
	}
	for i := range posts {
		for j, f := range byNo[posts[i].No] {
			if j == 0 {
				posts[i].File = f.domain()
			} else {
				posts[i].Extra = append(posts[i].Extra, *f.domain())
			}
		}
	}
}

// ThreadFlags are the changes a moderator makes to a thread; nil leaves one as it is.
type ThreadFlags struct {
	Sticky *bool
	Closed *bool
}

// UpdateThread sets a thread's sticky and closed flags.
func (s *Store) UpdateThread(ctx context.Context, board string, no int64, f ThreadFlags, at time.Time) error {
	now := at.UnixMicro()
	return s.write(ctx, func(tx *gorm.DB) error {
		b, err := s.boardRow(tx, board)
		if err != nil {
			return err
		}
		set := map[string]any{"modified_us": now}
		if f.Sticky != nil {
			set["sticky"] = *f.Sticky
		}
		if f.Closed != nil {
			set["closed"] = *f.Closed
		}
		res := tx.Model(&threadRow{}).Where("board_id = ? AND no = ?", b.ID, no).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Thread No.%d does not exist on /%s/.", no, board)
		}
		return tx.Model(&boardRow{}).Where("id = ?", b.ID).Update("modified_us", now).Error
	})
}

// boardNames is every board's name by its id.
func boardNames(db *gorm.DB) (map[int64]string, error) {
	var boards []boardRow
	if err := db.Select("id", "name").Find(&boards).Error; err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(boards))
	for _, b := range boards {
		names[b.ID] = b.Name
	}
	return names, nil
}

// Latest reads the newest live threads across every board, newest first,
// each with its opening post only: the home page's list.
func (s *Store) Latest(ctx context.Context, limit int) ([]maniwani.ThreadView, error) {
	db := s.db.WithContext(ctx)
	var threads []threadRow
	// Threads are inserted as they are started, so the newest have the
	// highest IDs on every database.
	err := db.Where("archived = ?", false).Order("id DESC").Limit(limit).Find(&threads).Error
	if err != nil || len(threads) == 0 {
		return nil, err
	}
	names, err := boardNames(db)
	if err != nil {
		return nil, err
	}
	byBoard := map[int64][]int64{}
	for _, t := range threads {
		byBoard[t.BoardID] = append(byBoard[t.BoardID], t.No)
	}
	ops := map[int64]map[int64]maniwani.Post{}
	for id, nos := range byBoard {
		var rows []postRow
		if err := db.Where("board_id = ? AND no IN ? AND held = ?", id, nos, false).Find(&rows).Error; err != nil {
			return nil, err
		}
		posts := make([]maniwani.Post, len(rows))
		for i := range rows {
			posts[i] = rows[i].domain(names[id])
		}
		if err := s.attachFiles(db, id, posts); err != nil {
			return nil, err
		}
		ops[id] = make(map[int64]maniwani.Post, len(posts))
		for _, p := range posts {
			ops[id][p.No] = p
		}
	}
	out := make([]maniwani.ThreadView, 0, len(threads))
	for i := range threads {
		op, ok := ops[threads[i].BoardID][threads[i].No]
		if !ok { // the opening post is gone: so is the thread
			continue
		}
		out = append(out, maniwani.ThreadView{Thread: threads[i].domain(names[threads[i].BoardID]), Posts: []maniwani.Post{op}})
	}
	return out, nil
}
