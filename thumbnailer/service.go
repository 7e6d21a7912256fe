package thumbnailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/tracing"
	"github.com/maniwani/maniwani/pubsub/pb"
)

// Config are the thumbnailer service's settings.
type Config struct {
	// Workers is how many thumbnails are made at once; 0 is the number of
	// cores: the work is CPU-bound, and more only adds memory.
	Workers int
	// TempDir holds an original while it is read; "" is the system's.
	TempDir string
	Options Options
	Logger  *slog.Logger
	// Tracer, when set, traces each job that came with a trace context,
	// in the trace of the post that asked for it; nil: off.
	Tracer trace.TracerProvider
}

// Deps are what the service works with.
type Deps struct {
	Bus   maniwani.Bus   // where the jobs come from and the results go
	Media maniwani.Media // where the originals are and the thumbnails go
}

// Service consumes the thumbnail jobs of the bus. Several services, in one
// process or many, share the jobs as one consumer group: each job is done
// once, and a job whose worker died is done by another.
type Service struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	tracer trace.Tracer
}

// Group is the consumer group the thumbnailers share.
const Group = "thumbnailer"

// New makes the service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil || deps.Media == nil {
		return nil, errors.New("thumbnailer: Bus and Media are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	s := &Service{cfg: cfg, deps: deps, log: cfg.Logger, tracer: tracing.Tracer(cfg.Tracer)}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Run does jobs until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, s.cfg.Workers)
	for i := range s.cfg.Workers {
		wg.Go(func() {
			errs[i] = s.deps.Bus.Consume(ctx, maniwani.ThumbnailQueue, Group, s.handle)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, maniwani.ErrClosed) {
			return err
		}
	}
	return nil
}

// handle does one job. A file that cannot be thumbnailed (damaged, too
// large) is answered with a failed result and not tried again; a failure
// of media or ffmpeg is returned, so the bus gives the job another try.
func (s *Service) handle(ctx context.Context, m maniwani.Message) (err error) {
	var job pb.ThumbnailJob
	if err := proto.Unmarshal(m.Data, &job); err != nil {
		s.log.Error("thumbnailer: malformed job dropped", "id", m.ID, "err", err)
		return nil
	}
	if s.cfg.Tracer != nil && job.Trace != nil {
		var span trace.Span
		ctx, span = s.tracer.Start(tracing.FromMessage(ctx, job.Trace), "thumbnailer.job",
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(tracing.Board.String(job.Board),
				tracing.PostNo.Int64(job.No), attribute.Int("maniwani.job.attempt", m.Attempt)))
		defer func() {
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
	}
	ref := maniwani.FileRef{Board: job.Board, Tim: job.Tim, SHA256: job.Sha256, Ext: job.Ext}
	res := &pb.ThumbnailResult{Board: job.Board, No: job.No, Tim: job.Tim, Sha256: job.Sha256, Ok: true,
		Trace: tracing.Message(ctx)}
	done, err := s.deps.Media.HasThumb(ctx, ref)
	if err != nil {
		return err
	}
	if !done {
		th, err := s.make(ctx, ref)
		switch kind := maniwani.ErrorKind(err); {
		case err == nil:
			if err := s.deps.Media.SaveThumb(ctx, ref, bytes.NewReader(th.JPEG), int64(len(th.JPEG))); err != nil {
				if maniwani.ErrorKind(err) == maniwani.KindNotFound {
					return nil // the bytes went meanwhile (see Media.SaveThumb)
				}
				return err
			}
			res.TnW, res.TnH = int32(th.W), int32(th.H)
		case kind == maniwani.KindInvalid || kind == maniwani.KindTooLarge:
			s.log.Warn("thumbnailer: no thumbnail", "board", job.Board, "tim", job.Tim, "err", err)
			res.Ok, res.Error = false, maniwani.ErrorMessage(err)
		case kind == maniwani.KindNotFound:
			// The post (and its bytes) went before its thumbnail was made:
			// nothing left to do, however often it is tried.
			s.log.Info("thumbnailer: original gone", "board", job.Board, "tim", job.Tim)
			return nil
		default:
			return err
		}
	}
	data, err := proto.Marshal(res)
	if err != nil {
		return err
	}
	_, err = s.deps.Bus.Enqueue(ctx, maniwani.ThumbnailResults, data)
	return err
}

// make thumbnails the original. ffmpeg and the decoders read a file: an
// original that is one already (local disk, or the copy media's client
// made) is read where it is; one in S3 is copied to a temporary file.
func (s *Service) make(ctx context.Context, ref maniwani.FileRef) (Thumb, error) {
	src, err := s.deps.Media.Original(ctx, ref)
	if err != nil {
		return Thumb{}, err
	}
	defer src.Close()
	if f, ok := src.(interface{ Name() string }); ok {
		return Make(ctx, f.Name(), ref.Ext, s.cfg.Options)
	}
	tmp, err := os.CreateTemp(s.cfg.TempDir, "thumb-*"+ref.Ext)
	if err != nil {
		return Thumb{}, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Thumb{}, fmt.Errorf("thumbnailer: copy original: %w", err)
	}
	return Make(ctx, tmp.Name(), ref.Ext, s.cfg.Options)
}
