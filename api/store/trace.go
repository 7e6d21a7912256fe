package store

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/maniwani/maniwani/internal/tracing"
)

// sqlTracer is a gorm plugin that makes each statement run inside a traced
// request a span of that trace: named by its operation and table, with the
// SQL as gorm wrote it, placeholders and not their values (a poster's
// address is one). Outside a trace it starts nothing.
//
// gorm's own OpenTelemetry plugin is not used: it links the MySQL and
// ClickHouse drivers into the binary (a program of gorm and that plugin
// is 28 MB, of gorm alone 4 MB) and puts the values in the query text
// unless told not to.
type sqlTracer struct{ system string }

func (sqlTracer) Name() string { return "maniwani:trace" }

// parentKey keeps, on a statement, the context its span replaced.
const parentKey = "maniwani:trace:parent"

func (t sqlTracer) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	type register interface {
		Register(name string, fn func(*gorm.DB)) error
	}
	for _, h := range []struct {
		name          string
		before, after register
	}{
		{"create", cb.Create().Before("gorm:create"), cb.Create().After("gorm:create")},
		{"query", cb.Query().Before("gorm:query"), cb.Query().After("gorm:query")},
		{"update", cb.Update().Before("gorm:update"), cb.Update().After("gorm:update")},
		{"delete", cb.Delete().Before("gorm:delete"), cb.Delete().After("gorm:delete")},
		{"row", cb.Row().Before("gorm:row"), cb.Row().After("gorm:row")},
		{"raw", cb.Raw().Before("gorm:raw"), cb.Raw().After("gorm:raw")},
	} {
		if err := h.before.Register("maniwani:trace:before_"+h.name, t.before); err != nil {
			return err
		}
		if err := h.after.Register("maniwani:trace:after_"+h.name, t.after); err != nil {
			return err
		}
	}
	return nil
}

func (t sqlTracer) before(tx *gorm.DB) {
	parent := tx.Statement.Context
	if parent == nil {
		return
	}
	ctx, span := tracing.Start(parent, "sql", trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return
	}
	tx.InstanceSet(parentKey, parent)
	tx.Statement.Context = ctx
}

func (t sqlTracer) after(tx *gorm.DB) {
	v, ok := tx.InstanceGet(parentKey)
	if !ok {
		return
	}
	span := trace.SpanFromContext(tx.Statement.Context)
	tx.Statement.Context = v.(context.Context)
	query := tx.Statement.SQL.String()
	op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	op = strings.ToUpper(op)
	name := op
	if tx.Statement.Table != "" {
		name += " " + tx.Statement.Table
	}
	span.SetName(name)
	span.SetAttributes(attribute.String("db.system.name", t.system), attribute.String("db.operation.name", op),
		attribute.String("db.collection.name", tx.Statement.Table), attribute.String("db.query.text", query),
		attribute.Int64("db.response.returned_rows", tx.Statement.RowsAffected))
	if err := tx.Error; err != nil && err != gorm.ErrRecordNotFound {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
