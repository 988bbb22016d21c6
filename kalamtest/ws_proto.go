package kalamtest

import (
	"fmt"
	"math"
	"strings"

	"github.com/kalamdash/kalamdash/client"
)

// inMsg is a parsed client → server message (section 3.5).
type inMsg struct {
	typ      string
	token    string
	protocol client.Protocol

	subID   string
	sql     string
	options *subOptions // nil: options absent or null

	lastSeq *int64
}

// subOptions are the parsed subscription options.
type subOptions struct {
	BatchSize *int64 `json:"batch_size,omitempty"`
	LastRows  *int64 `json:"last_rows,omitempty"`
	From      *int64 `json:"from,omitempty"`
}

const variants = "`authenticate`, `subscribe`, `next_batch`, `unsubscribe`, `ping`"

// parseClientMessage decodes one JSON client message. A non-empty second
// result is the serde error text for the 1011 close reason.
func parseClientMessage(b []byte) (inMsg, string) {
	f, msg := parseObject(b, "internally tagged enum ClientMessage")
	if msg != "" {
		return inMsg{}, msg
	}
	typ, msg := f.str("type")
	if msg != "" {
		return inMsg{}, msg
	}
	m := inMsg{typ: typ}
	switch typ {
	case client.TypeAuthenticate:
		// Fields are checked in struct order, as serde reports the first
		// missing one after reading the whole map.
		method, msg := f.str("method")
		if msg != "" {
			return m, msg
		}
		if method != "jwt" {
			return m, fmt.Sprintf("unknown variant `%s`, expected `jwt`", method)
		}
		if m.token, msg = f.str("token"); msg != "" {
			return m, msg
		}
		p, msg := f.reqObj("protocol", "struct ProtocolOptions")
		if msg != "" {
			return m, msg
		}
		ser, msg := p.str("serialization")
		if msg != "" {
			return m, msg
		}
		if ser != "json" && ser != "msgpack" {
			return m, fmt.Sprintf("unknown variant `%s`, expected `json` or `msgpack`", ser)
		}
		comp, msg := p.str("compression")
		if msg != "" {
			return m, msg
		}
		if comp != "gzip" && comp != "none" {
			return m, fmt.Sprintf("unknown variant `%s`, expected `none` or `gzip`", comp)
		}
		m.protocol = client.Protocol{Serialization: ser, Compression: comp}
	case client.TypeSubscribe:
		sub, msg := f.reqObj("subscription", "struct SubscriptionRequest")
		if msg != "" {
			return m, msg
		}
		if m.subID, msg = sub.str("id"); msg != "" {
			return m, msg
		}
		if m.sql, msg = sub.str("sql"); msg != "" {
			return m, msg
		}
		o, ok, msg := sub.obj("options", "struct SubscriptionOptions")
		if msg != "" {
			return m, msg
		}
		if ok {
			opts := &subOptions{}
			if opts.BatchSize, msg = o.optInt("batch_size", "usize", 0, math.MaxInt64); msg != "" {
				return m, msg
			}
			if opts.LastRows, msg = o.optInt("last_rows", "u32", 0, math.MaxUint32); msg != "" {
				return m, msg
			}
			if o.has("from") && o.has("from_seq_id") {
				return m, "duplicate field `from`"
			}
			key := "from"
			if !o.has("from") {
				key = "from_seq_id"
			}
			if opts.From, msg = o.optInt(key, "i64", math.MinInt64, math.MaxInt64); msg != "" {
				return m, msg
			}
			m.options = opts
		}
	case client.TypeNextBatch:
		var msg string
		if m.subID, msg = f.str("subscription_id"); msg != "" {
			return m, msg
		}
		if m.lastSeq, msg = f.optInt("last_seq_id", "i64", math.MinInt64, math.MaxInt64); msg != "" {
			return m, msg
		}
	case client.TypeUnsubscribe:
		var msg string
		if m.subID, msg = f.str("subscription_id"); msg != "" {
			return m, msg
		}
	case client.TypePing:
	default:
		return m, fmt.Sprintf("unknown variant `%s`, expected one of %s", typ, variants)
	}
	return m, ""
}

// closeReason trims a close reason to the 123 bytes a close frame allows,
// without leaving half a UTF-8 sequence.
func closeReason(s string) string {
	if len(s) <= closeReasonMax {
		return s
	}
	return strings.ToValidUTF8(s[:closeReasonMax], "")
}
