package kalamtest

import (
	"strconv"
	"strings"

	"github.com/kalamdash/kalamdash/client"
)

// serdeFloat is a DOUBLE/FLOAT cell. Upstream serializes f64 with ryu, so
// a whole number keeps its decimal point ("20.0", not Go's "20") and large
// or tiny ones use ryu's exponent form ("1e21", "1.5e-7"). Clients that
// tell integers from floats by their text see the same kind as upstream.
type serdeFloat float64

// MarshalJSON implements json.Marshaler.
func (f serdeFloat) MarshalJSON() ([]byte, error) {
	return []byte(formatSerdeFloat(float64(f))), nil
}

func formatSerdeFloat(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // shortest round-trip digits: "-d.ddde±XX"
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if kk := exp + 1; kk > -5 && kk <= 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant = strings.TrimSuffix(mant, ".0")
	return mant + "e" + strconv.Itoa(exp)
}

// serdeFloatRow returns row with float64 cells wrapped, copying only when
// something changes (rows may be shared between subscriptions).
func serdeFloatRow(row client.Row) client.Row {
	var out client.Row
	for k, v := range row {
		if f, ok := v.(float64); ok {
			if out == nil {
				out = make(client.Row, len(row))
				for k2, v2 := range row {
					out[k2] = v2
				}
			}
			out[k] = serdeFloat(f)
		}
	}
	if out == nil {
		return row
	}
	return out
}

func serdeFloatRows(rows []client.Row) []client.Row {
	if rows == nil {
		return nil
	}
	out := make([]client.Row, len(rows))
	for i, r := range rows {
		out[i] = serdeFloatRow(r)
	}
	return out
}

// serdeCell wraps a float64 SQL result cell.
func serdeCell(v any) any {
	if f, ok := v.(float64); ok {
		return serdeFloat(f)
	}
	return v
}
