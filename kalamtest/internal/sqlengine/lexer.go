package sqlengine

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a lexical token.
type tokKind int

const (
	tokEOF    tokKind = iota
	tokIdent          // bare identifier or keyword, text as written
	tokQIdent         // "quoted identifier", text unquoted
	tokString         // 'string literal', text unescaped
	tokNumber         // numeric literal, text as written
	tokParam          // $1, text is the digits
	tokOp             // punctuation and operators
)

// token is one lexical token; pos is its byte offset in the statement.
type token struct {
	kind tokKind
	text string
	pos  int
}

// upper returns the token text upper-cased when it is a bare word.
func (t token) upper() string {
	if t.kind != tokIdent {
		return ""
	}
	return strings.ToUpper(t.text)
}

// lex splits one SQL statement into tokens. Comments are skipped.
func lex(sql string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case isCommentStart(sql, i):
			end, err := skipComment(sql, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '\'':
			s, n, err := lexQuoted(sql[i:], '\'')
			if err != nil {
				return nil, fmt.Errorf("unterminated string literal at position %d", i)
			}
			toks = append(toks, token{tokString, s, i})
			i += n
		case c == '"' || c == '`':
			s, n, err := lexQuoted(sql[i:], c)
			if err != nil {
				return nil, fmt.Errorf("unterminated quoted identifier at position %d", i)
			}
			toks = append(toks, token{tokQIdent, s, i})
			i += n
		case c == '$' && i+1 < len(sql) && isDigit(sql[i+1]):
			j := i + 1
			for j < len(sql) && isDigit(sql[j]) {
				j++
			}
			toks = append(toks, token{tokParam, sql[i+1 : j], i})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			j := i
			for j < len(sql) && isDigit(sql[j]) {
				j++
			}
			if j < len(sql) && sql[j] == '.' {
				j++
				for j < len(sql) && isDigit(sql[j]) {
					j++
				}
			}
			if j < len(sql) && (sql[j] == 'e' || sql[j] == 'E') {
				k := j + 1
				if k < len(sql) && (sql[k] == '+' || sql[k] == '-') {
					k++
				}
				if k < len(sql) && isDigit(sql[k]) {
					for k < len(sql) && isDigit(sql[k]) {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{tokNumber, sql[i:j], i})
			i = j
		case isIdentStart(sql[i:]):
			j := i
			for j < len(sql) {
				r, size := utf8.DecodeRuneInString(sql[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			toks = append(toks, token{tokIdent, sql[i:j], i})
			i = j
		default:
			op := string(c)
			if i+1 < len(sql) {
				switch two := sql[i : i+2]; two {
				case "<=", ">=", "<>", "!=", "||", "::", "==":
					op = two
				}
			}
			if !strings.Contains("(),.;*=<>+-/%:!|", op[:1]) {
				r, _ := utf8.DecodeRuneInString(sql[i:])
				return nil, fmt.Errorf("unexpected character %q at position %d", r, i)
			}
			toks = append(toks, token{tokOp, op, i})
			i += len(op)
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(sql)})
	return toks, nil
}

// lexQuoted reads a quoted run starting at s[0]==q, where a doubled quote
// stands for itself. It returns the unquoted text and the bytes consumed.
func lexQuoted(s string, q byte) (string, int, error) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(s[i])
		i++
	}
	return "", 0, fmt.Errorf("unterminated")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// splitStatements splits a batch on top-level ';' (outside quotes and
// comments) and drops empty statements.
func splitStatements(sql string) ([]string, error) {
	var out []string
	start := 0
	i := 0
	flush := func(end int) {
		if s := strings.TrimSpace(sql[start:end]); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
	}
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			_, n, err := lexQuoted(sql[i:], c)
			if err != nil {
				return nil, fmt.Errorf("unterminated quoted text at position %d", i)
			}
			i += n
		case isCommentStart(sql, i):
			end, err := skipComment(sql, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == ';':
			flush(i)
			i++
			start = i
		default:
			i++
		}
	}
	flush(len(sql))
	return out, nil
}

// isCommentStart reports whether a comment (-- or /*) starts at sql[i].
func isCommentStart(sql string, i int) bool {
	return i+1 < len(sql) && (sql[i] == '-' && sql[i+1] == '-' || sql[i] == '/' && sql[i+1] == '*')
}

// skipComment returns the index just past the comment that starts at
// sql[i]: the end of a -- comment's line (the newline is not part of it),
// or just past a /* comment's */.
func skipComment(sql string, i int) (int, error) {
	if sql[i] == '-' {
		for i < len(sql) && sql[i] != '\n' {
			i++
		}
		return i, nil
	}
	end := strings.Index(sql[i+2:], "*/")
	if end < 0 {
		return 0, fmt.Errorf("unterminated comment at position %d", i)
	}
	return i + end + 4, nil
}

// onlyComments reports whether s holds nothing but comments.
func onlyComments(s string) bool {
	toks, err := lex(s)
	return err == nil && len(toks) == 1
}
