package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// jsonAppender is a response body that writes its own JSON: exactly the
// bytes encoding/json would write for it (with HTML escaping off, as Huma's
// encoder has it), without reflection, and with stored JSON passed through
// without encoding/json's validating compaction. The hot read paths use it:
// on a history page, reflection and compacting the stored versions took a
// quarter of the CPU.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// jsonFormat is Huma's JSON format with the jsonAppender fast path.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		var out func(b []byte) []byte
		switch x := v.(type) {
		case jsonAppender:
			out = x.appendJSON
		case []VersionHistory:
			out = func(b []byte) []byte { return appendJSONList(b, x) }
		case []UserAction:
			out = func(b []byte) []byte { return appendJSONList(b, x) }
		default:
			return huma.DefaultJSONFormat.Marshal(w, v)
		}
		bp := jsonBuffers.Get().(*[]byte)
		b := append(out((*bp)[:0]), '\n') // as json.Encoder ends a value
		if rw, ok := w.(http.ResponseWriter); ok {
			// The whole body goes out in this one Write: declared, it is
			// sent as it is rather than chunked (see statusRecorder).
			rw.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		_, err := w.Write(b)
		if cap(b) <= 1<<20 {
			*bp = b
			jsonBuffers.Put(bp)
		}
		return err
	},
	Unmarshal: json.Unmarshal,
}

// appendJSONList writes a JSON array of appenders.
func appendJSONList[T jsonAppender](b []byte, list []T) []byte {
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = list[i].appendJSON(b)
	}
	return append(b, ']')
}

var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping off: quotes, backslashes and control characters escaped, U+2028
// and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte { return appendString(b, s, false) }

// appendJSONStringHTML is appendJSONString with HTML escaping on (<, >
// and & as \u003c, \u003e, \u0026), as json.Marshal writes strings.
func appendJSONStringHTML(b []byte, s string) []byte { return appendString(b, s, true) }

func appendString(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds as needed).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendJSONInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// appendStoredJSON appends JSON the database stored (an object heed wrote
// with encoding/json, or PostgreSQL's jsonb text) without the whitespace
// between tokens, as encoding/json's compaction of a json.RawMessage would,
// but without re-validating it: the database holds valid JSON (jsonb is
// parsed on the way in; the SQLite column only ever receives
// encoding/json's output). empty is written for a missing value.
func appendStoredJSON(b, raw []byte, empty string) []byte {
	if len(raw) == 0 {
		return append(b, empty...)
	}
	start, inString := 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			b = append(b, raw[start:i]...)
			start = i + 1
		}
	}
	return append(b, raw[start:]...)
}
