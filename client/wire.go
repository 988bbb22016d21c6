package client

import (
	"encoding/json"
	"strconv"
)

// This file holds the KalamDB wire types shared by the client and by
// kalamtest. Field names, omitempty and pointer choices follow
// ../shared/kalamdb-protocol.md: "omitted" is omitempty, "null" is a nil
// pointer without omitempty. msgpack frames use the same structs through
// SetCustomStructTag("json").

// LoginRequest is the body of POST /v1/api/auth/login.
type LoginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// UserInfo describes the authenticated user in login, refresh and me bodies.
type UserInfo struct {
	ID        string  `json:"id"`
	Role      string  `json:"role"`
	Email     *string `json:"email"` // always present, null when unset
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

// LoginResponse is the 200 body of login and refresh.
type LoginResponse struct {
	User             UserInfo `json:"user"`
	AdminUIAccess    bool     `json:"admin_ui_access"`
	ExpiresAt        string   `json:"expires_at"`
	AccessToken      string   `json:"access_token"`
	RefreshToken     string   `json:"refresh_token"`
	RefreshExpiresAt string   `json:"refresh_expires_at"`
}

// MeResponse is the 200 body of GET /v1/api/auth/me.
type MeResponse struct {
	User          UserInfo `json:"user"`
	AdminUIAccess bool     `json:"admin_ui_access"`
}

// AuthErrorBody is the error body of the auth endpoints.
type AuthErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// LogoutResponse is the 200 body of POST /v1/api/auth/logout.
type LogoutResponse struct {
	Message string `json:"message"`
}

// HealthResponse is the 200 body of /health and /v1/api/healthcheck
// (keys in serde_json's alphabetical order).
type HealthResponse struct {
	APIVersion string `json:"api_version"`
	BuildDate  string `json:"build_date"`
	Status     string `json:"status"`
	Version    string `json:"version"`
}

// SQLRequest is the JSON body of POST /v1/api/sql.
type SQLRequest struct {
	SQL         string `json:"sql"`
	Params      []any  `json:"params,omitempty"`
	NamespaceID string `json:"namespace_id,omitempty"`
}

// SQLResponse is the envelope of every /v1/api/sql answer. Error is omitted
// on non-streamed successes; streamed single-SELECT responses end with
// "error":null, which servers write by hand.
type SQLResponse struct {
	Status  string      `json:"status"`
	Results []SQLResult `json:"results"`
	Took    float64     `json:"took"`
	Error   *SQLError   `json:"error,omitempty"`
}

// SQLResult is one entry of SQLResponse.Results.
type SQLResult struct {
	Schema   []SchemaField       `json:"schema,omitempty"`
	Rows     [][]json.RawMessage `json:"rows,omitempty"`
	RowCount int                 `json:"row_count"`
	Message  string              `json:"message,omitempty"`
	AsUser   string              `json:"as_user"`
}

// SQLError is the error object of a failed /v1/api/sql call.
type SQLError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

// SchemaField describes one column. DataType is a KalamDataType in serde's
// external tagging: a string ("BigInt") or an object ({"Embedding":384}).
type SchemaField struct {
	Name     string          `json:"name"`
	DataType json.RawMessage `json:"data_type"`
	Index    int             `json:"index"`
	Flags    []string        `json:"flags,omitempty"`
}

// DataTypeName returns the type's variant name ("BigInt", "Embedding").
func (f SchemaField) DataTypeName() string {
	var s string
	if json.Unmarshal(f.DataType, &s) == nil {
		return s
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(f.DataType, &m) == nil {
		for k := range m {
			return k
		}
	}
	return string(f.DataType)
}

// Protocol is the negotiated serialization and compression of a socket.
type Protocol struct {
	Serialization string `json:"serialization"` // "json" | "msgpack"
	Compression   string `json:"compression"`   // "gzip" | "none"
}

// Client → server message types.
const (
	TypeAuthenticate = "authenticate"
	TypeSubscribe    = "subscribe"
	TypeNextBatch    = "next_batch"
	TypeUnsubscribe  = "unsubscribe"
	TypePing         = "ping"
)

// Server → client message types.
const (
	TypeAuthSuccess      = "auth_success"
	TypeAuthError        = "auth_error"
	TypeSubscriptionAck  = "subscription_ack"
	TypeInitialDataBatch = "initial_data_batch"
	TypeChange           = "change"
	TypeError            = "error"
)

// Change types of a change notification.
const (
	ChangeInsert = "insert"
	ChangeUpdate = "update"
	ChangeDelete = "delete"
)

// Batch statuses.
const (
	StatusLoading      = "loading"
	StatusLoadingBatch = "loading_batch"
	StatusReady        = "ready"
)

// AuthenticateMessage authenticates a socket in-band. Protocol is mandatory
// on the real server; a message without it closes the socket with 1011.
type AuthenticateMessage struct {
	Type     string    `json:"type"`
	Method   string    `json:"method"`
	Token    string    `json:"token"`
	Protocol *Protocol `json:"protocol,omitempty"`
}

// SubscriptionOptions are the initial-load options of a subscription.
// A nil *SubscriptionOptions on the wire is `null`: no initial data at all.
type SubscriptionOptions struct {
	BatchSize *int   `json:"batch_size,omitempty"`
	LastRows  *int   `json:"last_rows,omitempty"`
	From      *int64 `json:"from,omitempty"`
}

// SubscriptionRequest is the subscription object of a subscribe message.
type SubscriptionRequest struct {
	ID      string               `json:"id"`
	SQL     string               `json:"sql"`
	Options *SubscriptionOptions `json:"options"`
}

// SubscribeMessage starts (or replaces) a live query.
type SubscribeMessage struct {
	Type         string              `json:"type"`
	Subscription SubscriptionRequest `json:"subscription"`
}

// NextBatchMessage asks for the next initial-data page.
type NextBatchMessage struct {
	Type           string `json:"type"`
	SubscriptionID string `json:"subscription_id"`
	LastSeqID      *int64 `json:"last_seq_id,omitempty"`
}

// UnsubscribeMessage removes a subscription; the server does not answer.
type UnsubscribeMessage struct {
	Type           string `json:"type"`
	SubscriptionID string `json:"subscription_id"`
}

// PingMessage is the application-level keepalive; the server does not answer.
type PingMessage struct {
	Type string `json:"type"`
}

// Row is one named row of a batch or change. Values keep KalamDB's JSON
// encoding: BIGINT and _seq are strings; numbers decode as json.Number (or
// msgpack integers) so nothing goes through float64.
type Row map[string]any

// Seq returns the row's _seq system column, accepting a string or a number.
func (r Row) Seq() (int64, bool) { return ParseSeq(r["_seq"]) }

// ParseSeq reads a SeqId from any of the encodings KalamDB uses.
func ParseSeq(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case float64:
		return int64(x), true
	}
	return 0, false
}

// BatchControl describes the initial-load progress of a subscription.
// LastSeqID is null (not omitted) when the batch has no rows.
type BatchControl struct {
	BatchNum  int    `json:"batch_num"`
	HasMore   bool   `json:"has_more"`
	Status    string `json:"status"`
	LastSeqID *int64 `json:"last_seq_id"`
}

// AuthSuccessMessage is sent after header or message authentication.
type AuthSuccessMessage struct {
	Type     string   `json:"type"`
	User     string   `json:"user"`
	Role     string   `json:"role"`
	Protocol Protocol `json:"protocol"`
}

// AuthErrorMessage precedes a 1008 close.
type AuthErrorMessage struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// SubscriptionAckMessage acknowledges a subscribe.
type SubscriptionAckMessage struct {
	Type           string        `json:"type"`
	SubscriptionID string        `json:"subscription_id"`
	TotalRows      int           `json:"total_rows"`
	BatchControl   BatchControl  `json:"batch_control"`
	Schema         []SchemaField `json:"schema"`
}

// InitialDataBatchMessage is one page of a subscription's initial data.
type InitialDataBatchMessage struct {
	Type           string       `json:"type"`
	SubscriptionID string       `json:"subscription_id"`
	Rows           []Row        `json:"rows"`
	BatchControl   BatchControl `json:"batch_control"`
}

// ChangeMessage is one live change. Insert carries Rows, delete carries
// OldValues, update carries both.
type ChangeMessage struct {
	Type           string `json:"type"`
	SubscriptionID string `json:"subscription_id"`
	ChangeType     string `json:"change_type"`
	Rows           []Row  `json:"rows,omitempty"`
	OldValues      []Row  `json:"old_values,omitempty"`
}

// ErrorMessage is a WebSocket error frame; the socket stays open.
type ErrorMessage struct {
	Type           string `json:"type"`
	SubscriptionID string `json:"subscription_id"`
	Code           string `json:"code"`
	Message        string `json:"message"`
}

// ServerMessage is the union of every server → client message, for
// decoding: Type says which fields are meaningful.
type ServerMessage struct {
	Type           string        `json:"type"`
	User           string        `json:"user,omitempty"`
	Role           string        `json:"role,omitempty"`
	Protocol       *Protocol     `json:"protocol,omitempty"`
	Message        string        `json:"message,omitempty"`
	Code           string        `json:"code,omitempty"`
	SubscriptionID string        `json:"subscription_id,omitempty"`
	TotalRows      int           `json:"total_rows,omitempty"`
	BatchControl   *BatchControl `json:"batch_control,omitempty"`
	Schema         []SchemaField `json:"schema,omitempty"`
	Rows           []Row         `json:"rows,omitempty"`
	ChangeType     string        `json:"change_type,omitempty"`
	OldValues      []Row         `json:"old_values,omitempty"`
}
