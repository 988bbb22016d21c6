package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// timestampCell shows a KalamDB TIMESTAMP (microseconds since the epoch)
// as a local wall time with milliseconds; other shapes fall back to cell.
func timestampCell(v any) string {
	if n, ok := client.ParseSeq(v); ok && n > 1e14 {
		return time.UnixMicro(n).Format("15:04:05.000")
	}
	return cell(v)
}

// cell formats one value for a table cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "∅"
	case string:
		return x
	case []byte:
		return string(x)
	}
	s := fmt.Sprint(v)
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+":"+cell(m[k]))
		}
		s = "{" + strings.Join(parts, ",") + "}"
	}
	return s
}
