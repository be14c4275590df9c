package apifuzz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rawJSON is a JSON fragment sent verbatim: malformed documents, strings
// holding invalid UTF-8, deep nesting.
type rawJSON string

// request is one generated request, kept structured so that a failure can
// be minimised (drop a parameter, drop a key, shorten a string) and shown.
type request struct {
	op    *operation
	index int // position in the run; -1 for minimisation attempts

	pathVals map[string]string // path parameter → value before escaping
	query    []queryParam
	token    string // label of the credentials (see tokens)
	ctype    string // Content-Type; "" sends none

	hasBody bool
	body    any     // JSON tree: map[string]any, []any, string, bool, nil, json.Number, rawJSON
	rawBody *string // when set, sent verbatim instead of body
}

type queryParam struct{ name, value string }

func (r *request) clone() *request {
	c := *r
	c.pathVals = map[string]string{}
	for k, v := range r.pathVals {
		c.pathVals[k] = v
	}
	c.query = append([]queryParam(nil), r.query...)
	c.body = cloneJSON(r.body)
	return &c
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneJSON(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = cloneJSON(x)
		}
		return l
	}
	return v
}

// sent reports whether the request itself carried the field an error
// key names (an undeclared body key or query parameter may be refused
// under its own name).
func (r *request) sent(key string) bool {
	first := key
	if i := strings.IndexAny(first, ".["); i > 0 {
		first = first[:i]
	}
	for _, q := range r.query {
		// JSON carries an invalid UTF-8 name as U+FFFD.
		if q.name == first || strings.ToValidUTF8(q.name, "\uFFFD") == first {
			return true
		}
	}
	m, _ := r.body.(map[string]any)
	if r.rawBody != nil {
		m = nil
		_ = json.Unmarshal([]byte(*r.rawBody), &m)
	}
	_, ok := m[first]
	return ok
}

// path fills the template with the escaped parameter values.
func (r *request) path() string {
	p := r.op.Path
	for name, v := range r.pathVals {
		p = strings.ReplaceAll(p, "{"+name+"}", url.PathEscape(v))
	}
	return p
}

func (r *request) rawQuery() string {
	parts := make([]string, len(r.query))
	for i, q := range r.query {
		parts[i] = url.QueryEscape(q.name) + "=" + url.QueryEscape(q.value)
	}
	return strings.Join(parts, "&")
}

// target is the path and query, as sent.
func (r *request) target() string {
	if q := r.rawQuery(); q != "" {
		return r.path() + "?" + q
	}
	return r.path()
}

// bodyBytes is the body as sent (nil: none).
func (r *request) bodyBytes() []byte {
	if r.rawBody != nil {
		return []byte(*r.rawBody)
	}
	if !r.hasBody {
		return nil
	}
	var b bytes.Buffer
	encodeJSON(&b, r.body)
	return b.Bytes()
}

// encodeJSON writes v with sorted keys; json.Number and rawJSON are
// written as they are, so numbers beyond float64 and invalid UTF-8 reach
// the server unchanged.
func encodeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(string(v))
	case rawJSON:
		b.WriteString(string(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case string:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		b.Truncate(b.Len() - 1) // Encode's newline
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeJSON(b, x)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeJSON(b, k)
			b.WriteByte(':')
			encodeJSON(b, v[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("encodeJSON: %T", v))
	}
}

// showBytes renders bytes for a report: as they are when printable UTF-8,
// else Go-quoted.
func showBytes(b []byte) string {
	if utf8.Valid(b) && !bytes.ContainsFunc(b, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
		return string(b)
	}
	return strconv.Quote(string(b))
}

// shellQuote quotes s for bash, with $'…' escapes when it holds bytes a
// terminal would not show.
func shellQuote(s string) string {
	plain := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
	if plain {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// curl renders the request as a command against $HEED (the base URL of a
// heed loaded with the demo data set).
func (r *request) curl() string {
	var parts []string
	parts = append(parts, "curl -sS -i -X "+r.op.Method)
	if h := tokens[r.token]; h != "" {
		parts = append(parts, "-H "+shellQuote("Authorization: "+h))
	}
	if r.ctype != "" {
		parts = append(parts, "-H "+shellQuote("Content-Type: "+r.ctype))
	}
	if b := r.bodyBytes(); b != nil {
		s := string(b)
		if len(s) > 2000 {
			parts = append(parts, fmt.Sprintf("--data-binary @body.json  # %d bytes, see body above", len(s)))
		} else {
			parts = append(parts, "--data-binary "+shellQuote(s))
		}
	}
	parts = append(parts, `"$HEED"`+shellQuote(r.target()))
	return strings.Join(parts, " ")
}

// describe renders the request for a failure report.
func (r *request) describe(names map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.op.Method, r.target())
	if len(r.pathVals) > 0 {
		keys := make([]string, 0, len(r.pathVals))
		for k := range r.pathVals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := r.pathVals[k]
			if n := names[strings.ReplaceAll(strings.ToLower(v), "-", "")]; n != "" {
				fmt.Fprintf(&b, "  path %s = %s (%s)\n", k, showBytes([]byte(v)), n)
			}
		}
	}
	for _, q := range r.query {
		if !utf8.ValidString(q.value) || strings.ContainsFunc(q.value, func(r rune) bool { return r < 0x20 }) {
			fmt.Fprintf(&b, "  query %s = %s\n", q.name, strconv.Quote(q.value))
		}
	}
	auth := tokens[r.token]
	if auth == "" {
		auth = "(none)"
	}
	fmt.Fprintf(&b, "  credentials: %s — Authorization: %s\n", r.token, auth)
	if r.ctype != "" {
		fmt.Fprintf(&b, "  Content-Type: %s\n", r.ctype)
	}
	if body := r.bodyBytes(); body != nil {
		s := showBytes(body)
		if len(s) > 1500 {
			s = fmt.Sprintf("%s… (%d bytes)", s[:1500], len(body))
		}
		fmt.Fprintf(&b, "  body: %s\n", s)
	} else {
		b.WriteString("  body: (none)\n")
	}
	return b.String()
}
