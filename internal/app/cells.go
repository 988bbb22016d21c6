package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/ui"
)

// timestampCell shows a KalamDB TIMESTAMP (microseconds since the epoch)
// as a local wall time with milliseconds; other shapes fall back to cell.
func timestampCell(v any) ui.Cell {
	if n, ok := client.ParseSeq(v); ok && n > 1e14 {
		return ui.Cell{Text: time.UnixMicro(n).Format("15:04:05.000")}
	}
	return cell(v)
}

// cell converts one value for a table cell: nil is SQL NULL, which the UI
// draws as such (a live row's column left out of an update is NULL too).
func cell(v any) ui.Cell {
	if v == nil {
		return ui.Cell{Null: true}
	}
	return ui.Cell{Text: valueText(v)}
}

// valueText formats a value as text; a null inside a JSON value reads
// null.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case []byte:
		return string(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+":"+valueText(x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}
