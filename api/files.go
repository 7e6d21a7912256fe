package api

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/api/upload"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// saveFile stores a checked upload in media before its post is committed,
// so an answered post always has its bytes; it returns the post's File
// (its tim is chosen by the store).
func (s *Service) saveFile(ctx context.Context, board string, u *upload.File, spoiler bool) (*maniwani.File, error) {
	ref := maniwani.FileRef{Board: board, SHA256: u.SHA256, Ext: u.Ext}
	if err := s.putBytes(ctx, ref, u); err != nil {
		return nil, err
	}
	tw, th := maniwani.ThumbSize(u.Width, u.Height)
	f := &maniwani.File{Filename: u.Name, Ext: u.Ext, Size: u.Size, MD5: u.MD5, SHA256: u.SHA256,
		Width: u.Width, Height: u.Height, ThumbW: tw, ThumbH: th, Spoiler: spoiler}
	// The same bytes posted before already have their thumbnail.
	if ok, err := s.deps.Media.HasThumb(ctx, ref); err == nil {
		f.Thumbnail = ok
	}
	return f, nil
}

func (s *Service) putBytes(ctx context.Context, ref maniwani.FileRef, u *upload.File) error {
	fh, err := os.Open(u.Path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := s.deps.Media.Save(ctx, ref, fh, u.Size); err != nil {
		if maniwani.ErrorKind(err) == maniwani.KindInternal {
			err = &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "The file could not be stored; try again.", Err: err}
		}
		return err
	}
	return nil
}

// afterFile follows a committed post with a file: it makes sure the bytes
// are still there (a deletion of the last other post with the same bytes
// may have dropped them between the save and the commit), by a Stat that
// reads none of them, and asks the thumbnailer for the thumbnail.
func (s *Service) afterFile(ctx context.Context, p *maniwani.Post, file *maniwani.File, u *upload.File) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ref := maniwani.FileRef{Board: p.Board, Tim: file.Tim, SHA256: file.SHA256, Ext: file.Ext}
	if _, err := s.deps.Media.Stat(ctx, ref); maniwani.ErrorKind(err) == maniwani.KindNotFound {
		if err := s.putBytes(ctx, ref, u); err != nil {
			s.log.Error("file of a post lost and not stored again", "board", p.Board, "no", p.No, "err", err)
		}
	}
	if !file.Thumbnail {
		s.enqueueThumbnail(ctx, p.No, ref, file.Spoiler)
	}
}

func (s *Service) enqueueThumbnail(ctx context.Context, no int64, ref maniwani.FileRef, spoiler bool) {
	if s.deps.Bus == nil {
		return
	}
	ctx, span := tracing.Start(ctx, "enqueue "+maniwani.ThumbnailQueue, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.destination.name", maniwani.ThumbnailQueue),
			tracing.Board.String(ref.Board), tracing.PostNo.Int64(no)))
	defer span.End()
	data, err := proto.Marshal(&pb.ThumbnailJob{Board: ref.Board, No: no, Tim: ref.Tim, Sha256: ref.SHA256,
		Ext: ref.Ext, Spoiler: spoiler, Trace: tracing.Message(ctx)})
	if err == nil {
		_, err = s.deps.Bus.Enqueue(ctx, maniwani.ThumbnailQueue, data)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		// Not lost: watchThumbnails sends the jobs of files without a
		// thumbnail again when the api starts, and once the bus is back.
		s.requeue.Store(true)
		s.log.Error("thumbnail job not queued", "board", ref.Board, "tim", ref.Tim, "err", err)
	}
}

// dropUnused removes bytes saved for a post that was then refused, unless
// another post uses them.
func (s *Service) dropUnused(ctx context.Context, ref maniwani.FileRef) {
	ctx = context.WithoutCancel(ctx)
	n, err := s.store.FileUsers(ctx, ref.SHA256)
	if err != nil || n > 0 {
		return
	}
	if err := s.deps.Media.Remove(ctx, ref, true); err != nil {
		s.log.Warn("bytes of a refused post not removed", "sha256", ref.SHA256, "err", err)
	}
}

// removeFiles drops from media the files of deleted posts (and their bytes
// when no other post uses them). The posts are gone whatever fails here.
func (s *Service) removeFiles(ctx context.Context, files []store.GoneFile) {
	if s.deps.Media == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, f := range files {
		if err := s.deps.Media.Remove(ctx, f.FileRef, f.Last); err != nil {
			s.log.Error("file of a deleted post not removed", "board", f.Board, "tim", f.Tim, "err", err)
		}
	}
}

// thumbnailMade records a made thumbnail on every file with its bytes and
// drops the pages that show them.
func (s *Service) thumbnailMade(ctx context.Context, sha string) error {
	refs, err := s.store.ThumbnailMade(ctx, sha)
	if err != nil {
		return err
	}
	byBoard := map[string][]int64{}
	for _, r := range refs {
		byBoard[r.Board] = append(byBoard[r.Board], r.No)
	}
	for board, threads := range byBoard {
		s.afterCommit(ctx, maniwani.Invalidation{Board: board, Threads: threads})
	}
	return nil
}

// requeueEvery is how often watchThumbnails tries again to queue the jobs
// that could not be queued.
const requeueEvery = time.Second

// requeueThumbnails queues again the jobs of the files still without a
// thumbnail; a job it cannot queue sets requeue again.
func (s *Service) requeueThumbnails(ctx context.Context) {
	missing, err := s.store.WithoutThumbnail(ctx, 1000)
	if err != nil {
		if ctx.Err() == nil {
			s.requeue.Store(true)
		}
		s.log.Error("files without thumbnails not read", "err", err)
	}
	for _, ref := range missing {
		if ctx.Err() != nil {
			return
		}
		// Made while no api listened for the result: record it; else the
		// job may be lost (an in-process bus) or queued (Redis, where a
		// second job finds the thumbnail made and only reports it).
		if ok, err := s.deps.Media.HasThumb(ctx, ref); err == nil && ok {
			s.thumbnailMade(ctx, ref.SHA256)
			continue
		}
		s.enqueueThumbnail(ctx, 0, ref, false)
	}
}

// FileByName tells which bytes a board's file name stands for: how media
// finds what to serve at /media/{board}/{tim}{ext}.
func (s *Service) FileByName(ctx context.Context, board string, tim int64) (maniwani.FileRef, error) {
	return s.store.FileByName(ctx, board, tim)
}

// watchThumbnails records the thumbnailer's results until ctx ends: a made
// thumbnail is marked on every file with those bytes and their threads'
// pages are dropped from cache. First it queues again the jobs of files
// still without a thumbnail (the in-process bus forgets its queue when the
// process stops), and so again, each second, after a job could not be
// queued (the bus was down), until they are.
func (s *Service) watchThumbnails(ctx context.Context) error {
	if s.deps.Bus == nil || s.deps.Media == nil {
		return nil
	}
	s.requeueThumbnails(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		// Jobs that could not be queued since (the bus was down) are
		// queued again once it takes them.
		tick := time.NewTicker(requeueEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if s.requeue.Swap(false) {
					s.requeueThumbnails(ctx)
				}
			}
		}
	})
	err := s.deps.Bus.Consume(ctx, maniwani.ThumbnailResults, "api", func(ctx context.Context, m maniwani.Message) error {
		var res pb.ThumbnailResult
		if err := proto.Unmarshal(m.Data, &res); err != nil {
			s.log.Error("malformed thumbnail result dropped", "id", m.ID, "err", err)
			return nil
		}
		if !res.Ok {
			s.log.Warn("no thumbnail", "board", res.Board, "tim", res.Tim, "err", res.Error)
			return s.store.ThumbnailFailed(ctx, res.Sha256)
		}
		return s.thumbnailMade(ctx, res.Sha256)
	})
	if errors.Is(err, maniwani.ErrClosed) {
		return nil
	}
	return err
}
