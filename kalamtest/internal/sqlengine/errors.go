package sqlengine

import (
	"fmt"
	"net/http"
	"strings"
)

// SQL error codes (ErrorCode in upstream's sql_response.rs).
const (
	CodeEmptySQL          = "EMPTY_SQL"
	CodeBatchParseError   = "BATCH_PARSE_ERROR"
	CodeParamsWithBatch   = "PARAMS_WITH_BATCH"
	CodeInvalidSQL        = "INVALID_SQL"
	CodeInvalidParameter  = "INVALID_PARAMETER"
	CodeInvalidInput      = "INVALID_INPUT"
	CodeSQLExecutionError = "SQL_EXECUTION_ERROR"
	CodePermissionDenied  = "PERMISSION_DENIED"
	CodeTableNotFound     = "TABLE_NOT_FOUND"
	CodeInternalError     = "INTERNAL_ERROR"
)

// WebSocket error codes returned by PrepareLive (WsErrorCode upstream).
const (
	WSCodeInvalidSQL         = "INVALID_SQL"
	WSCodeNotFound           = "NOT_FOUND"
	WSCodeUnauthorized       = "UNAUTHORIZED"
	WSCodeSubscriptionFailed = "SUBSCRIPTION_FAILED"
)

// errKind mirrors the KalamDbError variants whose Display prefixes and
// HTTP classification the server reproduces.
type errKind int

const (
	kindInvalidOperation errKind = iota // "Invalid operation: "
	kindAlreadyExists                   // "Already exists: "
	kindNotFound                        // "Not found: "
	kindTableNotFound                   // "Table not found: "
	kindUnauthorized                    // "Unauthorized: "
	kindPermissionDenied                // "Permission denied: "
	kindExecution                       // "Execution error: "
	kindInvalidSQL                      // "Invalid SQL: "
	kindPlain                           // no prefix (DataFusion errors)
)

// kerr is a statement failure, classified like upstream's KalamDbError.
type kerr struct {
	kind errKind
	msg  string
}

func (k *kerr) Error() string {
	switch k.kind {
	case kindInvalidOperation:
		return "Invalid operation: " + k.msg
	case kindAlreadyExists:
		return "Already exists: " + k.msg
	case kindNotFound:
		return "Not found: " + k.msg
	case kindTableNotFound:
		return "Table not found: " + k.msg
	case kindUnauthorized:
		return "Unauthorized: " + k.msg
	case kindPermissionDenied:
		return "Permission denied: " + k.msg
	case kindExecution:
		return "Execution error: " + k.msg
	case kindInvalidSQL:
		return "Invalid SQL: " + k.msg
	}
	return k.msg
}

func errf(kind errKind, format string, a ...any) *kerr {
	return &kerr{kind: kind, msg: fmt.Sprintf(format, a...)}
}

// classify maps a statement failure to status, code and whether its
// message is shown to non-admins (classify_sql_error upstream).
func (k *kerr) classify() (status int, code string, preserve bool) {
	lower := strings.ToLower(k.msg)
	switch k.kind {
	case kindUnauthorized, kindPermissionDenied:
		return http.StatusForbidden, CodePermissionDenied, true
	case kindInvalidSQL:
		return http.StatusBadRequest, CodeInvalidSQL, true
	case kindInvalidOperation, kindAlreadyExists:
		return http.StatusBadRequest, CodeSQLExecutionError, true
	case kindTableNotFound:
		return http.StatusBadRequest, CodeSQLExecutionError, false
	case kindNotFound:
		tableMissing := strings.Contains(lower, "table") && strings.Contains(lower, "not found")
		return http.StatusBadRequest, CodeSQLExecutionError, !tableMissing
	case kindExecution:
		for _, w := range []string{"access denied", "permission denied", "unauthorized", "insufficient privileges"} {
			if strings.Contains(lower, w) {
				return http.StatusForbidden, CodePermissionDenied, true
			}
		}
		safe := strings.Contains(lower, "column") && strings.Contains(lower, "not found") ||
			strings.Contains(lower, "no field named") ||
			strings.Contains(lower, "primary key") ||
			strings.Contains(lower, "constraint violation") ||
			strings.Contains(lower, "already exists") ||
			strings.Contains(lower, "duplicate") ||
			strings.Contains(lower, "unique constraint")
		return http.StatusBadRequest, CodeSQLExecutionError, safe
	}
	return http.StatusBadRequest, CodeSQLExecutionError, false
}

// publicMessage is the redacted message non-admins get for some codes.
func publicMessage(code string) (string, bool) {
	switch code {
	case CodeBatchParseError:
		return "Failed to parse SQL batch", true
	case CodeSQLExecutionError:
		return "SQL statement failed", true
	case CodeInvalidSQL:
		return "SQL statement is invalid or not allowed", true
	case CodeTableNotFound:
		return "Requested table is not available", true
	case CodeInternalError:
		return "SQL request failed", true
	}
	return "", false
}

// forPrivilege builds an *Error, redacting the message for non-admins
// where upstream does (error_for_privilege).
func forPrivilege(c Caller, status int, code, msg string) *Error {
	if !c.IsAdmin() {
		if pub, ok := publicMessage(code); ok {
			msg = pub
		}
	}
	return &Error{Status: status, Code: code, Message: msg}
}

// statementError builds the response error for statement number idx
// (1-based) failing with k (build_statement_error_response upstream).
func statementError(c Caller, idx int, sql string, k *kerr) *Error {
	status, code, preserve := k.classify()
	msg := fmt.Sprintf("Statement %d failed: %s", idx, k.Error())
	admin := c.IsAdmin()
	if preserve {
		e := &Error{Status: status, Code: code, Message: msg}
		if admin {
			e.Details = sql
		}
		return e
	}
	if !admin {
		if pub, ok := publicMessage(code); ok {
			return &Error{Status: status, Code: code, Message: pub}
		}
		return &Error{Status: status, Code: code, Message: msg, Details: sql}
	}
	return &Error{Status: status, Code: code, Message: msg, Details: sql}
}
