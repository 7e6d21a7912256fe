package api

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// afterCommit tells the rest of the site about a committed write: caches drop
// what it changed (before the writer is answered, so the writer's next read
// is fresh) and the events go on the board's topic, in order. The write stands
// whatever fails here; failures are logged. It runs on a context of its own,
// so a writer who hangs up does not leave the caches stale.
func (s *Service) afterCommit(ctx context.Context, inv maniwani.Invalidation, events ...*pb.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if s.deps.Invalidator != nil {
		if err := s.deps.Invalidator.Invalidate(ctx, inv); err != nil {
			s.log.Error("cache invalidation failed", "board", inv.Board, "err", err)
		}
	}
	if s.deps.Bus == nil {
		return
	}
	topic := maniwani.BoardTopic(inv.Board)
	for _, ev := range events {
		// The event carries its publishing span, which live's delivery of
		// it continues.
		ctx, span := tracing.Start(ctx, "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("messaging.destination.name", topic), tracing.Board.String(inv.Board)))
		ev.Trace = tracing.Message(ctx)
		data, err := proto.Marshal(ev)
		if err == nil {
			_, err = s.deps.Bus.Publish(ctx, topic, data)
		}
		if err != nil {
			s.log.Error("event not published", "board", inv.Board, "err", err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// postCreated is the event of a new post, with what the public JSON shows.
func postCreated(p *maniwani.Post) *pb.Event {
	return &pb.Event{Kind: &pb.Event_PostCreated{PostCreated: pb.NewPostCreated(p)}}
}

// threadArchived is the event of a thread pushed into the archive.
func threadArchived(board string, no int64) *pb.Event {
	return &pb.Event{Kind: &pb.Event_ThreadUpdated{ThreadUpdated: &pb.ThreadUpdated{Board: board, No: no,
		Closed: true, Archived: true}}}
}
