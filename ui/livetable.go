package ui

import (
	"context"
	"time"
)

// LiveRows is what a connection offers for its subscriptions' rows beyond
// the snapshot: paging through every row a subscription keeps (with the
// row filter and order). It is optional, like Controls and SQL; without it
// (a recording) the Data view shows the snapshot's rows.
type LiveRows interface {
	// SubRows returns up to n of the rows q selects from subscription id,
	// from offset (0 = the first in q's order), and how many q selects.
	// It is cheap: the Data view calls it while rendering.
	SubRows(id string, q RowQuery, offset, n int) (rows []Row, total int)
}

// LiveTables adds checking the kept rows against the server to LiveRows:
// what a connection of our own offers. A read-only one (an application
// watched through kalamdash proxy) pages its rows but offers neither
// Verify nor Repair.
type LiveTables interface {
	LiveRows
	// Verify runs the subscription's query over HTTP and compares the
	// server's rows with the kept ones; the result also shows as
	// Sub.Verified. It blocks on the network.
	Verify(ctx context.Context, id string) (Verification, error)
	// Repair re-subscribes so the rows are the server's again.
	Repair(ctx context.Context, id string) error
}

// RowQuery selects and orders a subscription's rows for display.
type RowQuery struct {
	Filter string // rows whose key or a value contains it, ignoring case
	ByKey  bool   // by primary key instead of arrival order
}

// Verification is the result of a Verify, as display text (the adapter
// makes outside text safe to measure; the UI still draws it with safe).
type Verification struct {
	Time     time.Time
	Clean    bool
	Summary  string          // one line: "clean: …" or "mismatch: …"
	Counts   string          // rows compared, evicted, pages
	Sections []VerifySection // missing, extra, other values, changed during the check
	Causes   []string        // "queue drop (172): dropped by …", most frequent first
}

// VerifySection is one kind of difference.
type VerifySection struct {
	Title   string   // "missing from the live view"
	Count   int      // rows of this kind
	Causes  string   // "queue drop 172, resume gap 3"
	Samples []string // the first few rows, one line each
}
