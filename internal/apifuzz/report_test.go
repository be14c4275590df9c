package apifuzz

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A group is one broken promise on one operation with one status; its
// causes are the distinct minimal inputs found to break it.
type group struct {
	kind, op, norm string
	status         int
	count          int
	causes         []*cause
	unattributed   int // occurrences past maxCauses that matched no cause
}

type cause struct {
	tags    []string // hostile features of the minimal request
	req     *request
	res     *result
	problem problem
	count   int
	first   int // index of the first request that showed it
	// before are the last successful changes before the first request,
	// kept when the minimal request holds nothing hostile: the failure
	// then depends on state those changes made.
	before []string
}

const (
	maxCauses        = 4   // minimised causes kept per group
	maxAttempts      = 40  // requests one minimisation may send
	maxMinimisations = 150 // per database
)

func groupKey(r *request, res *result, p problem) string {
	return fmt.Sprintf("%s|%s|%d|%s", p.kind, r.op.Key, res.status, p.norm)
}

// record files a problem under its group, minimising the request when it
// shows a cause the group has not seen.
func (f *fuzzer) record(r *request, res *result, p problem) {
	key := groupKey(r, res, p)
	g := f.groups[key]
	if g == nil {
		g = &group{kind: p.kind, op: r.op.Key, norm: p.norm, status: res.status}
		f.groups[key] = g
		f.groupOrder = append(f.groupOrder, key)
	}
	g.count++
	tags := f.causes(r)
	for _, c := range g.causes {
		if subset(c.tags, tags) {
			c.count++
			return
		}
	}
	if len(g.causes) >= maxCauses {
		g.unattributed++
		return
	}
	mr, mres, mp := r, res, p
	if f.minimised < maxMinimisations && r.index >= 0 {
		f.minimised++
		mr, mres, mp = f.minimise(key, r, res, p)
	}
	c := &cause{tags: f.causes(mr), req: mr, res: mres, problem: mp, count: 1, first: r.index}
	if len(c.tags) == 0 && p.kind == "5xx" {
		c.before = slices.Clone(f.recent)
	}
	for _, o := range g.causes {
		if slices.Equal(o.tags, c.tags) {
			o.count++
			return
		}
	}
	g.causes = append(g.causes, c)
}

func subset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}

// minimise shrinks a failing request while it keeps failing the same way:
// drop the body, drop query parameters, drop body keys, shorten strings,
// and try staff credentials. Each try is a real request.
func (f *fuzzer) minimise(key string, r *request, res *result, p problem) (*request, *result, problem) {
	cur, curRes, curP := r.clone(), res, p
	cur.index = -1
	attempts := 0
	try := func(c *request) bool {
		if attempts >= maxAttempts {
			return false
		}
		attempts++
		f.minimiseSent++
		cres, ps := f.attempt(c)
		for _, cp := range ps {
			if groupKey(c, cres, cp) == key {
				cur, curRes, curP = c, cres, cp
				return true
			}
		}
		return false
	}
	if cur.hasBody || cur.rawBody != nil {
		c := cur.clone()
		c.hasBody, c.body, c.rawBody, c.ctype = false, nil, nil, ""
		try(c)
	}
	if cur.hasBody || cur.rawBody != nil {
		empty := "{}"
		c := cur.clone()
		c.hasBody, c.body, c.rawBody = false, nil, &empty
		try(c)
	}
	for i := len(cur.query) - 1; i >= 0; i-- {
		c := cur.clone()
		c.query = slices.Delete(c.query, i, i+1)
		try(c)
	}
	if cur.rawBody != nil && len(*cur.rawBody) > 16 {
		for n := 0; n < 6 && len(*cur.rawBody) > 16; n++ {
			s := *cur.rawBody
			half := s[:len(s)/2]
			c := cur.clone()
			c.rawBody = &half
			if !try(c) {
				break
			}
		}
	}
	if m, ok := cur.body.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			c := cur.clone()
			delete(c.body.(map[string]any), k)
			try(c)
		}
		// One level down: keys of objects, items of lists.
		for _, k := range sortedKeys(cur.body.(map[string]any)) {
			switch v := cur.body.(map[string]any)[k].(type) {
			case map[string]any:
				for _, sub := range sortedKeys(v) {
					c := cur.clone()
					delete(c.body.(map[string]any)[k].(map[string]any), sub)
					try(c)
				}
			case []any:
				for i := len(v) - 1; i >= 0; i-- {
					c := cur.clone()
					l := c.body.(map[string]any)[k].([]any)
					c.body.(map[string]any)[k] = slices.Delete(l, i, i+1)
					try(c)
				}
			}
		}
		// Shorten long strings, keeping the half that still fails.
		for _, k := range sortedKeys(cur.body.(map[string]any)) {
			for n := 0; n < 8; n++ {
				s, ok := cur.body.(map[string]any)[k].(string)
				if !ok || len(s) <= 8 {
					break
				}
				c1 := cur.clone()
				c1.body.(map[string]any)[k] = s[:len(s)/2]
				if try(c1) {
					continue
				}
				c2 := cur.clone()
				c2.body.(map[string]any)[k] = s[len(s)/2:]
				if !try(c2) {
					break
				}
			}
		}
	}
	for i := range cur.query {
		for n := 0; n < 8; n++ {
			s := cur.query[i].value
			if len(s) <= 8 {
				break
			}
			c1 := cur.clone()
			c1.query[i].value = s[:len(s)/2]
			if try(c1) {
				continue
			}
			c2 := cur.clone()
			c2.query[i].value = s[len(s)/2:]
			if !try(c2) {
				break
			}
		}
	}
	if cur.token != "staff" {
		c := cur.clone()
		c.token = "staff"
		try(c)
	}
	return cur, curRes, curP
}

var (
	dateLike = regexp.MustCompile(`^\s*(-?\d+)-(\d\d)-(\d\d)`)
	hugeNum  = regexp.MustCompile(`^-?(\d{19,}(\.\d*)?|\d*\.?\d+[eE][+-]?\d{3,})$`)
	zeroUUID = regexp.MustCompile(`^0{8}-?0{4}-?0{4}-?0{4}-?0{12}$`)
)

// causes lists the hostile features of a request, each with where it
// sits ("NUL in body.name"): what a minimal failing request still holds
// is the cause of its failure.
func (f *fuzzer) causes(r *request) []string {
	set := map[string]bool{}
	add := func(what, where string) { set[what+" in "+where] = true }
	for _, k := range sortedKeys(r.pathVals) {
		classifyString(add, "path "+k, r.pathVals[k], nil)
	}
	seen := map[string]bool{}
	for _, q := range r.query {
		where := "query " + q.name
		p := r.op.param(q.name, "query")
		if p == nil {
			add("undeclared parameter", where)
		} else if seen[q.name] && mainType(p.Schema) != "array" {
			add("repeated parameter", where)
		}
		seen[q.name] = true
		var s map[string]any
		if p != nil {
			s = f.doc.resolve(p.Schema)
		}
		classifyString(add, where, q.value, s)
	}
	switch {
	case r.rawBody != nil:
		if v, err := decodeLoose([]byte(*r.rawBody)); err == nil && r.op.Body != nil && utf8.ValidString(*r.rawBody) {
			if _, obj := v.(map[string]any); obj {
				f.classifyJSON(add, "body", v, r.op.Body)
				break
			}
		}
		add("malformed body ("+bodyClass(*r.rawBody)+")", "body")
	case r.hasBody && r.op.Body == nil:
		add("a body for an operation that takes none", "body")
	case r.hasBody:
		f.classifyJSON(add, "body", r.body, r.op.Body)
	case r.op.Body != nil:
		add("no body", "body")
	}
	if (r.hasBody || r.rawBody != nil) && r.ctype != "application/json" {
		add(fmt.Sprintf("Content-Type %q", r.ctype), "header")
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func bodyClass(s string) string {
	var v any
	switch {
	case len(s) > 1<<20:
		return "over 1 MiB"
	case strings.TrimSpace(s) == "":
		return "empty"
	case strings.Count(s, "[") > 1000:
		return "deeply nested"
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case json.Unmarshal([]byte(s), &v) != nil:
		return "not JSON"
	}
	if _, ok := v.(map[string]any); ok {
		return "odd object"
	}
	return "JSON " + jsonType(v)[0]
}

func classifyString(add func(what, where string), where, s string, schema map[string]any) {
	if strings.ContainsRune(s, 0) {
		add("NUL", where)
	}
	if !utf8.ValidString(s) {
		add("invalid UTF-8", where)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r != 0 && (r < 0x20 || r == 0x7f) }) {
		add("control character", where)
	}
	if n, ok := num(schema["maxLength"]); ok && utf8.RuneCountInString(s) > int(n) {
		add("longer than maxLength", where)
	}
	switch {
	case len(s) > 1000:
		add("string over 1000 bytes", where)
	case len(s) > 255:
		add("string over 255 bytes", where)
	case len(s) > 72:
		add("string over 72 bytes", where)
	}
	if m := dateLike.FindStringSubmatch(s); m != nil {
		year, _ := strconv.Atoi(m[1])
		switch {
		case year <= 0:
			add("year "+m[1], where)
		case len(m[1]) > 4:
			add("year beyond 9999", where)
		case year == 9999:
			add("year 9999", where)
		default:
			if _, err := time.Parse(time.DateOnly, m[0][len(m[0])-10:]); err != nil {
				add("impossible date", where)
			}
		}
	}
	if hugeNum.MatchString(strings.TrimSpace(s)) {
		add("huge number", where)
	}
	if zeroUUID.MatchString(s) {
		add("all-zero uuid", where)
	}
}

// classifyJSON tags a body value against its schema.
func (f *fuzzer) classifyJSON(add func(what, where string), where string, v any, s map[string]any) {
	s = f.doc.resolve(s)
	ts := types(s)
	switch v := v.(type) {
	case nil:
		if !nullable(s) && len(ts) > 0 {
			add("null for a non-nullable field", where)
		}
		return
	case rawJSON:
		if !utf8.ValidString(string(v)) {
			add("invalid UTF-8", where)
		} else if strings.Count(string(v), "{") > 50 {
			add("deeply nested", where)
		}
		return
	case float64:
		if lo, ok := num(s["minimum"]); ok && v < lo {
			add("below minimum", where)
		}
		if hi, ok := num(s["maximum"]); ok && v > hi {
			add("above maximum", where)
		}
		if v < 0 {
			add("negative number", where)
		}
	case json.Number:
		if hugeNum.MatchString(string(v)) {
			add("huge number", where)
		}
		if strings.HasPrefix(string(v), "-") {
			add("negative number", where)
		}
		fl, err := v.Float64()
		if lo, ok := num(s["minimum"]); ok && err == nil && fl < lo {
			add("below minimum", where)
		}
		if hi, ok := num(s["maximum"]); ok && err == nil && fl > hi {
			add("above maximum", where)
		}
		if mainType(s) == "integer" && strings.ContainsAny(string(v), ".eE") {
			add("non-integer number", where)
		}
	case string:
		classifyString(add, where, v, s)
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		ap, _ := s["additionalProperties"].(map[string]any)
		closed := s["additionalProperties"] == false
		for _, k := range sortedKeys(v) {
			if ps, ok := props[k].(map[string]any); ok {
				f.classifyJSON(add, where+"."+k, v[k], ps)
			} else if closed {
				add("unknown key", where+"."+k)
			} else if ap != nil {
				f.classifyJSON(add, where+"."+k, v[k], ap)
			}
			if strings.ContainsRune(k, 0) || k == "" {
				add("odd key", where)
			}
		}
	case []any:
		if len(v) > 100 {
			add("list of over 100 items", where)
		}
		items, _ := s["items"].(map[string]any)
		for _, x := range v {
			f.classifyJSON(add, where+"[]", x, items)
		}
	}
	if len(ts) > 0 && v != nil {
		jt := jsonTypeOfTree(v)
		if !slices.Contains(ts, jt) && (jt != "integer" || !slices.Contains(ts, "number")) && (jt != "number" || !slices.Contains(ts, "integer")) {
			add("wrong type ("+jt+" for "+strings.Join(ts, "|")+")", where)
		}
	}
}

func jsonTypeOfTree(v any) string {
	switch v := v.(type) {
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "number"
		}
		return "integer"
	case int, int64:
		return "integer"
	case float64:
		return jsonType(v)[0]
	case rawJSON:
		return "string"
	}
	return jsonType(v)[0]
}

// report logs the counts and fails the test with one reproducer per cause.
func (f *fuzzer) report() {
	covered, with2xx := 0, 0
	var no2xx []string
	for _, op := range f.ops {
		if f.opSent[op.Key] > 0 {
			covered++
		}
		if f.op2xx[op.Key] > 0 {
			with2xx++
		} else {
			no2xx = append(no2xx, op.Key)
		}
	}
	var hist []string
	fivexx := 0
	for _, st := range sortedInts(f.hist) {
		label := strconv.Itoa(st)
		if st == 0 {
			label = "no response"
		}
		hist = append(hist, fmt.Sprintf("%s×%d", label, f.hist[st]))
		if st >= 500 {
			fivexx += f.hist[st]
		}
	}
	f.t.Logf("%s: seed %d: %d requests (+%d setup, +%d minimising); operations covered %d/%d, %d of them with a 2xx; statuses %s; 5xx = %d",
		f.dbName, f.seed, f.sent, f.setupSent, f.minimiseSent, covered, len(f.ops), with2xx, strings.Join(hist, " "), fivexx)
	f.t.Logf("%s: time in requests %s, in fingerprints %s", f.dbName, f.sendTime.Round(time.Millisecond), f.fingerprintTime.Round(time.Millisecond))
	if len(no2xx) > 0 {
		f.t.Logf("%s: operations that never answered 2xx: %s", f.dbName, strings.Join(no2xx, ", "))
	}
	if f.stoppedEarly != "" {
		f.t.Logf("%s: %s", f.dbName, f.stoppedEarly)
	}
	if len(f.groups) == 0 {
		return
	}

	keys := slices.Clone(f.groupOrder)
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := f.groups[keys[i]], f.groups[keys[j]]
		if a.kind != b.kind {
			return kindRank(a.kind) < kindRank(b.kind)
		}
		return a.op < b.op
	})
	// Across operations: which kinds of input break which promise.
	type summary struct {
		ops   map[string]bool
		count int
	}
	byCause := map[string]*summary{}
	for _, k := range keys {
		g := f.groups[k]
		for _, c := range g.causes {
			what := stripWhere(c.tags)
			sk := fmt.Sprintf("%s %d%s ← %s", g.kind, g.status, suffix(g.norm), what)
			if byCause[sk] == nil {
				byCause[sk] = &summary{ops: map[string]bool{}}
			}
			byCause[sk].ops[g.op] = true
			byCause[sk].count += c.count
		}
	}
	var lines []string
	for _, sk := range sortedKeys(byCause) {
		s := byCause[sk]
		lines = append(lines, fmt.Sprintf("  %s — %d requests on %d operations: %s", sk, s.count, len(s.ops), strings.Join(sortedKeys(s.ops), ", ")))
	}
	f.t.Errorf("%s: %d broken promises (seed %d); by cause:\n%s", f.dbName, len(keys), f.seed, strings.Join(lines, "\n"))

	for _, k := range keys {
		g := f.groups[k]
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s — %s %d%s — %d requests\n", f.dbName, g.kind, g.op, g.status, suffix(g.norm), g.count)
		for i, c := range g.causes {
			fmt.Fprintf(&b, "cause %d (%d requests, first #%d): %s\n", i+1, c.count, c.first, orNone(c.tags))
			b.WriteString(indent(c.req.describe(f.names), "    "))
			fmt.Fprintf(&b, "    → %d %s\n", c.res.status, cut(showBytes(c.res.body), 400))
			if c.problem.detail != "" && c.problem.detail != strconv.Itoa(c.res.status) {
				fmt.Fprintf(&b, "    problem: %s\n", cut(c.problem.detail, 400))
			}
			fmt.Fprintf(&b, "    %s\n", c.req.curl())
			if len(c.before) > 0 {
				b.WriteString("    the last successful changes before it:\n")
				for _, l := range c.before {
					fmt.Fprintf(&b, "      %s\n", l)
				}
			}
			if c.first >= 0 {
				fmt.Fprintf(&b, "    replay the run up to it: HEED_FUZZ_SEED=%d HEED_FUZZ_REQUESTS=%d%s HEED_FUZZ_TRACE=/tmp/fuzz-{db}.log go test -count=1 -run 'TestAPIFuzz/%s' ./internal/apifuzz/\n",
					f.seed, c.first+1, f.opsEnv(), f.dbName)
			}
		}
		if g.unattributed > 0 {
			fmt.Fprintf(&b, "(%d more requests with other inputs)\n", g.unattributed)
		}
		f.t.Error(b.String())
	}
}

func kindRank(kind string) int {
	order := []string{"5xx", "no response", "rejected request changed the database", "read changed the database",
		"undeclared status", "4xx body is not DRF-shaped", "response does not match the document"}
	if i := slices.Index(order, kind); i >= 0 {
		return i
	}
	return len(order)
}

func stripWhere(tags []string) string {
	set := map[string]bool{}
	for _, t := range tags {
		what, _, _ := strings.Cut(t, " in ")
		set[what] = true
	}
	if len(set) == 0 {
		return "(ordinary input)"
	}
	return strings.Join(sortedKeys(set), " + ")
}

func suffix(norm string) string {
	if norm == "" {
		return ""
	}
	return ": " + norm
}

func orNone(tags []string) string {
	if len(tags) == 0 {
		return "(ordinary input)"
	}
	return strings.Join(tags, "; ")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
