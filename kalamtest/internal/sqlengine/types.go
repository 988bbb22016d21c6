package sqlengine

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// kalamType is a KalamDataType: name is the serde variant ("BigInt");
// Decimal carries precision/scale, Embedding its dimension in p.
type kalamType struct {
	name string
	p, s int
}

var (
	typBoolean   = kalamType{name: "Boolean"}
	typSmallInt  = kalamType{name: "SmallInt"}
	typInt       = kalamType{name: "Int"}
	typBigInt    = kalamType{name: "BigInt"}
	typFloat     = kalamType{name: "Float"}
	typDouble    = kalamType{name: "Double"}
	typText      = kalamType{name: "Text"}
	typTimestamp = kalamType{name: "Timestamp"}
	typDateTime  = kalamType{name: "DateTime"}
	typDate      = kalamType{name: "Date"}
	typTime      = kalamType{name: "Time"}
	typJSON      = kalamType{name: "Json"}
	typBytes     = kalamType{name: "Bytes"}
	typUUID      = kalamType{name: "Uuid"}
	typFile      = kalamType{name: "File"}
)

// dataTypeJSON renders the type as serde's external tagging does.
func (t kalamType) dataTypeJSON() json.RawMessage {
	var v any = t.name
	switch t.name {
	case "Embedding":
		v = map[string]int{"Embedding": t.p}
	case "Decimal":
		v = map[string]map[string]int{"Decimal": {"precision": t.p, "scale": t.s}}
	}
	b, _ := json.Marshal(v)
	return b
}

// isInteger reports types stored and compared as SQLite INTEGER.
func (t kalamType) isInteger() bool {
	switch t.name {
	case "SmallInt", "Int", "BigInt", "Timestamp", "DateTime", "Date", "Time":
		return true
	}
	return false
}

func (t kalamType) isFloat() bool { return t.name == "Float" || t.name == "Double" }

// sqliteType is the column's declared type in the backing SQLite table.
func (t kalamType) sqliteType() string {
	switch {
	case t.isInteger(), t.name == "Boolean":
		return "INTEGER"
	case t.isFloat():
		return "REAL"
	case t.name == "Bytes":
		return "BLOB"
	}
	return "TEXT"
}

// parseSQLType maps a SQL type name (upper case, without modifiers) and its
// numeric modifiers to a KalamDataType, as upstream's compatibility layer.
func parseSQLType(name string, mods []int) (kalamType, error) {
	switch name {
	case "SMALLINT", "INT2", "TINYINT", "INT1", "SMALLSERIAL", "SERIAL2":
		return typSmallInt, nil
	case "INT", "INTEGER", "INT4", "MEDIUMINT", "SERIAL", "SERIAL4", "SIGNED":
		return typInt, nil
	case "BIGINT", "INT8", "INT64", "BIGSERIAL", "SERIAL8", "UNSIGNED":
		return typBigInt, nil
	case "FLOAT", "REAL", "FLOAT4":
		return typFloat, nil
	case "DOUBLE", "FLOAT8", "FLOAT64":
		return typDouble, nil
	case "BOOLEAN", "BOOL":
		return typBoolean, nil
	case "TEXT", "VARCHAR", "CHAR", "CHARACTER", "STRING", "NVARCHAR", "CLOB", "NCHAR":
		return typText, nil
	case "JSON", "JSONB":
		return typJSON, nil
	case "BYTES", "BYTEA", "BINARY", "VARBINARY", "BLOB":
		return typBytes, nil
	case "DATE":
		return typDate, nil
	case "TIMESTAMP", "TIMESTAMPTZ":
		return typTimestamp, nil
	case "DATETIME":
		return typDateTime, nil
	case "TIME":
		return typTime, nil
	case "UUID":
		return typUUID, nil
	case "FILE":
		return typFile, nil
	case "DECIMAL", "NUMERIC":
		p, s := 38, 10
		if len(mods) >= 1 {
			p, s = mods[0], 0
		}
		if len(mods) >= 2 {
			s = mods[1]
		}
		if p < 1 || p > 38 || s < 0 || s > p {
			return kalamType{}, fmt.Errorf("Invalid DECIMAL precision/scale: precision must be 1-38 and scale 0-precision, got (%d, %d)", p, s)
		}
		return kalamType{name: "Decimal", p: p, s: s}, nil
	case "EMBEDDING":
		if len(mods) != 1 {
			return kalamType{}, fmt.Errorf("EMBEDDING type requires exactly one dimension parameter, e.g., EMBEDDING(384)")
		}
		if mods[0] < 1 {
			return kalamType{}, fmt.Errorf("EMBEDDING dimension must be at least 1")
		}
		if mods[0] > 8192 {
			return kalamType{}, fmt.Errorf("EMBEDDING dimension must be at most 8192 (found %d)", mods[0])
		}
		return kalamType{name: "Embedding", p: mods[0]}, nil
	}
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, "text") || strings.HasSuffix(lower, "string") {
		return typText, nil
	}
	return kalamType{}, fmt.Errorf("Unsupported custom data type '%s'", lower)
}

// arrowName is the Arrow type name used in cast error messages.
func (t kalamType) arrowName() string {
	switch t.name {
	case "SmallInt":
		return "Int16"
	case "Int":
		return "Int32"
	case "BigInt":
		return "Int64"
	case "Float":
		return "Float32"
	case "Double":
		return "Float64"
	case "Boolean":
		return "Boolean"
	case "Timestamp":
		return "Timestamp(Microsecond, None)"
	case "Date":
		return "Date32"
	}
	return "Utf8"
}

func castError(v any, t kalamType) error {
	if s, ok := v.(string); ok {
		return fmt.Errorf("Arrow error: Cast error: Cannot cast string '%s' to value of %s type", s, t.arrowName())
	}
	return fmt.Errorf("Arrow error: Cast error: Cannot cast value '%v' to value of %s type", v, t.arrowName())
}

// coerce converts a Go value (from a literal, a parameter or an expression)
// into the internal representation of a column of type t: int64 for
// integer-like types, bool, float64, string, []byte, or nil.
func coerce(v any, t kalamType) (any, error) {
	if v == nil {
		return nil, nil
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		} else {
			v = string(n)
		}
	}
	switch x := v.(type) {
	case int:
		v = int64(x)
	case int32:
		v = int64(x)
	case float32:
		v = float64(x)
	}
	switch {
	case t.isInteger():
		i, err := toInt(v, t)
		if err != nil {
			return nil, err
		}
		switch t.name {
		case "SmallInt":
			if i < math.MinInt16 || i > math.MaxInt16 {
				return nil, castError(v, t)
			}
		case "Int":
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, castError(v, t)
			}
		}
		return i, nil
	case t.isFloat():
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, castError(v, t)
			}
			return f, nil
		}
		return nil, castError(v, t)
	case t.name == "Boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "t", "1", "yes", "y", "on":
				return true, nil
			case "false", "f", "0", "no", "n", "off":
				return false, nil
			}
		}
		return nil, castError(v, t)
	case t.name == "Decimal":
		return formatDecimal(v, t)
	case t.name == "Bytes":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
		return nil, castError(v, t)
	case t.name == "Embedding":
		s, ok := v.(string)
		if !ok {
			return nil, castError(v, t)
		}
		var vec []float64
		if json.Unmarshal([]byte(s), &vec) != nil || len(vec) != t.p {
			return nil, fmt.Errorf("Invalid EMBEDDING value: expected a JSON array of %d numbers", t.p)
		}
		return s, nil
	}
	// Text-like: Text, Json, File, Uuid.
	switch x := v.(type) {
	case string:
		if t.name == "Json" && !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("Invalid JSON value for column of type JSON: %q", x)
		}
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []byte:
		return string(x), nil
	}
	return nil, castError(v, t)
}

func toInt(v any, t kalamType) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, castError(v, t)
		}
		return int64(x), nil
	case bool:
		if t.name == "Timestamp" || t.name == "Date" {
			return 0, castError(v, t)
		}
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		switch t.name {
		case "Timestamp", "DateTime":
			if tm, ok := parseTime(s); ok {
				return tm.UnixMicro(), nil
			}
		case "Date":
			if tm, ok := parseTime(s); ok {
				return int64(math.Floor(float64(tm.Unix()) / 86400)), nil
			}
		case "Time":
			if tm, err := time.Parse("15:04:05.999999", s); err == nil {
				return int64(tm.Hour())*3600e6 + int64(tm.Minute())*60e6 + int64(tm.Second())*1e6 + int64(tm.Nanosecond()/1000), nil
			}
		}
	}
	return 0, castError(v, t)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseTime reads the timestamp literal forms KalamDB (Arrow) accepts;
// values without a zone are UTC.
func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if tm, err := time.Parse(l, s); err == nil {
			return tm.UTC(), true
		}
	}
	return time.Time{}, false
}

// formatDecimal renders v with exactly t.s fractional digits.
func formatDecimal(v any, t kalamType) (any, error) {
	var r *big.Rat
	switch x := v.(type) {
	case int64:
		r = new(big.Rat).SetInt64(x)
	case float64:
		r = new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil, castError(v, t)
		}
	case string:
		var ok bool
		r, ok = new(big.Rat).SetString(strings.TrimSpace(x))
		if !ok {
			return nil, castError(v, t)
		}
	default:
		return nil, castError(v, t)
	}
	return r.FloatString(t.s), nil
}

// fromSQLite converts a value scanned from SQLite into the internal
// representation for type t (as coerce produces).
func fromSQLite(v any, t kalamType) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		switch {
		case t.name == "Boolean":
			return x != 0
		case t.isFloat():
			return float64(x)
		case t.isInteger():
			return x
		case t.name == "Bytes":
			return []byte(strconv.FormatInt(x, 10))
		}
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case t.isInteger():
			return int64(x)
		case t.isFloat():
			return x
		case t.name == "Boolean":
			return x != 0
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		if t.name == "Bytes" {
			return x
		}
		return fromSQLite(string(x), t)
	case string:
		switch {
		case t.isInteger():
			if i, err := strconv.ParseInt(x, 10, 64); err == nil {
				return i
			}
		case t.isFloat():
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f
			}
		case t.name == "Boolean":
			return x == "1" || strings.EqualFold(x, "true")
		case t.name == "Bytes":
			return []byte(x)
		}
		return x
	case bool:
		if t.name == "Boolean" {
			return x
		}
		if x {
			return fromSQLite(int64(1), t)
		}
		return fromSQLite(int64(0), t)
	}
	return v
}

// toSQLite converts an internal value for binding as a SQLite parameter.
func toSQLite(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// wireValue encodes an internal value as KalamDB puts it on the wire
// (protocol section 3.8): Int64 as a decimal string, other integers as
// numbers, booleans, floats, strings; bytes as an array of numbers.
func wireValue(v any, t kalamType) any {
	if v == nil {
		return nil
	}
	switch t.name {
	case "BigInt":
		if i, ok := v.(int64); ok {
			return strconv.FormatInt(i, 10)
		}
	case "Float":
		if f, ok := v.(float64); ok {
			// Float32 columns: round-trip through float32 like Arrow does.
			return float64(float32(f))
		}
	case "Bytes":
		if b, ok := v.([]byte); ok {
			arr := make([]int, len(b))
			for i, c := range b {
				arr[i] = int(c)
			}
			return arr
		}
	case "Embedding":
		if s, ok := v.(string); ok {
			var vec []float64
			if json.Unmarshal([]byte(s), &vec) == nil {
				return vec
			}
		}
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil
	}
	return v
}
