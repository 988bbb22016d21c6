package sqlengine

import (
	"strings"
)

// tableType is KalamDB's TableType.
type tableType int

const (
	tableUser tableType = iota
	tableShared
	tableStream
	tableSystem
)

// String is TableType's Display form (lowercase), used in messages.
func (t tableType) String() string {
	switch t {
	case tableUser:
		return "user"
	case tableShared:
		return "shared"
	case tableStream:
		return "stream"
	}
	return "system"
}

// debugName is TableType's Debug form ("User"), used in some messages.
func (t tableType) debugName() string {
	s := t.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

func parseTableType(s string) (tableType, bool) {
	switch strings.ToUpper(s) {
	case "USER":
		return tableUser, true
	case "SHARED":
		return tableShared, true
	case "STREAM":
		return tableStream, true
	case "SYSTEM":
		return tableSystem, true
	}
	return 0, false
}

// column is one user-defined column of a table.
type column struct {
	name    string
	typ     kalamType
	notNull bool
	pk      bool
	unique  bool
	def     expr
}

// flags returns the schema flags in upstream's order: pk, nn, uq.
func (c column) flags() []string {
	var f []string
	if c.pk {
		f = append(f, "pk")
	}
	if c.notNull || c.pk {
		f = append(f, "nn")
	}
	if c.pk || c.unique {
		f = append(f, "uq")
	}
	return f
}

// System column names.
const (
	colSeq     = "_seq"
	colDeleted = "_deleted"
	colOwner   = "_owner" // internal only: the owning user of a USER/STREAM row
)

// tableDef is a table's definition and its backing SQLite table.
type tableDef struct {
	ns, name string
	typ      tableType
	cols     []column // user columns, in definition order
	pk       string   // "" when none (stream tables)
	ttl      int64    // stream tables: seconds
	access   string   // shared tables: PUBLIC, PRIVATE, RESTRICTED, DBA
	sqlName  string   // quoted SQLite identifier
}

func (t *tableDef) fullName() string { return t.ns + "." + t.name }

// tableID is TableId's Display form, "ns:table".
func (t *tableDef) tableID() string { return t.ns + ":" + t.name }

// col returns the user column named name.
func (t *tableDef) col(name string) (column, bool) {
	for _, c := range t.cols {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

// hasDeleted reports whether the table has the _deleted column (soft
// deletes): USER and SHARED tables.
func (t *tableDef) hasDeleted() bool { return t.typ == tableUser || t.typ == tableShared }

// perUser reports whether rows belong to a user (USER and STREAM tables).
func (t *tableDef) perUser() bool { return t.typ == tableUser || t.typ == tableStream }

// colType returns the type of a user or system column.
func (t *tableDef) colType(name string) (kalamType, bool) {
	switch {
	case name == colSeq && t.typ != tableSystem:
		return typBigInt, true
	case name == colDeleted && t.hasDeleted():
		return typBoolean, true
	}
	c, ok := t.col(name)
	return c.typ, ok
}

// starColumns lists what SELECT * returns: user columns then _seq (and
// _deleted for USER/SHARED tables).
func (t *tableDef) starColumns() []string {
	out := make([]string, 0, len(t.cols)+2)
	for _, c := range t.cols {
		out = append(out, c.name)
	}
	if t.typ != tableSystem {
		out = append(out, colSeq)
		if t.hasDeleted() {
			out = append(out, colDeleted)
		}
	}
	return out
}

// flagsOf returns the schema flags of a column (none for system columns).
func (t *tableDef) flagsOf(name string) []string {
	if c, ok := t.col(name); ok {
		return c.flags()
	}
	return nil
}

// quoteIdent quotes a SQLite identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// validName reports whether s is a valid namespace/table/column name
// (alphanumerics and underscores, as upstream).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
