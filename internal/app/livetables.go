package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// This file implements ui.LiveTables over the session: the Data view
// pages through every row a subscription keeps, and checks and repairs
// them against the server.

// SubRows returns a page of the rows q selects, as display cells.
func (c *conn) SubRows(id string, q ui.RowQuery, offset, n int) ([]ui.Row, int) {
	sub, ok := c.c.Subscription(id)
	if !ok {
		return nil, 0
	}
	rows, total := c.c.SubRowsQuery(id, session.RowQuery{Filter: q.Filter, ByKey: q.ByKey}, offset, n)
	out := make([]ui.Row, len(rows))
	for i, r := range rows {
		out[i] = rowOf(sub.Columns, r)
	}
	return out, total
}

// rowOf turns a live row into display cells in cols order.
func rowOf(cols []session.Column, r session.LiveRow) ui.Row {
	row := ui.Row{Key: r.Key, ChangedAt: r.ChangedAt, Values: make([]ui.Cell, len(cols))}
	if r.Change != session.ChangeInitial {
		row.Change = r.Change.String()
	}
	for i, col := range cols {
		v := r.Values[col.Name]
		if strings.Contains(strings.ToLower(col.Type), "timestamp") {
			row.Values[i] = timestampCell(v)
		} else {
			row.Values[i] = cell(v)
		}
	}
	return row
}

// Verify compares the subscription's rows with the server's.
func (c *conn) Verify(ctx context.Context, id string) (ui.Verification, error) {
	v, err := c.c.Verify(ctx, id, session.VerifyOptions{})
	if err != nil {
		return ui.Verification{}, err
	}
	return *verificationOf(&v), nil
}

// Repair re-subscribes so the rows are the server's again.
func (c *conn) Repair(ctx context.Context, id string) error { return c.c.Repair(ctx, id) }

// verificationOf turns a session verification into display text (nil for
// none).
func verificationOf(v *session.Verification) *ui.Verification {
	if v == nil {
		return nil
	}
	out := &ui.Verification{Time: v.Finished, Clean: v.Clean(), Summary: v.Summary(), Counts: v.Counts()}
	for _, p := range v.Parts() {
		sec := ui.VerifySection{Title: p.Title, Count: p.Set.Count}
		if p.Counted {
			sec.Causes = p.Set.CauseSummary()
		}
		for _, d := range p.Set.Samples {
			sec.Samples = append(sec.Samples, d.Describe())
		}
		out.Sections = append(out.Sections, sec)
	}
	out.Causes = v.Causes()
	if v.Unsure > 0 {
		out.Causes = append(out.Causes, fmt.Sprintf("%d rows could not be told from rows the cap evicted", v.Unsure))
	}
	return out
}

// shortfallText says what a Shortfall means ("" for none).
func shortfallText(f *session.Shortfall) string {
	if f == nil {
		return ""
	}
	return fmt.Sprintf("a statement at %s wrote %d rows to this table; %d changes arrived",
		f.Time.Format("15:04:05"), f.Rows, f.Arrived)
}
