package apifuzz

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"pgregory.net/rapid"
)

// tokens maps a credentials label to the Authorization header it sends.
var tokens = map[string]string{
	"staff":            "Token demo-staff-token",
	"support":          "Token demo-support-token",
	"alice":            "Token demo-alice-token",
	"bob":              "Token demo-bob-token",
	"carol":            "Token demo-carol-token",
	"none":             "",
	"unknown token":    "Token not-a-demo-token",
	"staff, Bearer":    "Bearer demo-staff-token",
	"staff, bare":      "demo-staff-token",
	"alice, bare":      "demo-alice-token",
	"unknown, bare":    "not-a-demo-token",
	"malformed header": "Token",
	"basic auth":       "Basic YWxpY2U6ZGVtby1hbGljZS1wYXNzd29yZA==",
}

// tokenWeights is how often each label is drawn (faTokenWeights on
// FusionAuth operations).
var tokenWeights = []struct {
	label  string
	weight int
}{
	{"staff", 36}, {"alice", 16}, {"bob", 12}, {"carol", 9}, {"support", 8}, {"none", 9},
	{"unknown token", 4}, {"staff, Bearer", 4}, {"alice, bare", 4}, {"malformed header", 2}, {"basic auth", 2},
}

// demoUsers hold the tokens above: the run never deactivates them, strips
// their roles or changes their staff flags, so every label keeps its
// meaning for the whole run.
var demoUsers = []string{"admin", "support", "alice", "bob", "carol"}

var demoPasswords = []string{"demo-admin-password", "demo-alice-password", "demo-bob-password", "wrong-password"}

// gen draws one request. Decisions (which parameter, which kind of value)
// come from rng, a uniform generator seeded by the run's seed and the
// request's index; values come from rapid's generators, drawn from rt,
// which lean towards edge cases (empty, boundaries, odd runes).
type gen struct {
	f   *fuzzer
	rt  *rapid.T
	rng *rand.Rand
	// hostileP is the chance that a value is hostile rather than valid.
	hostileP float64
	// collection is the list path the request's {uuid} belongs to.
	collection string
	// keepDemoUsers excludes the token holders from role removals and from
	// the account flags of PATCH /api/users/{uuid}/.
	keepDemoUsers bool
	// fa: the operation is of the FusionAuth family.
	fa bool
	op *operation
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }
func (g *gen) intn(n int) int        { return g.rng.IntN(n) }

func pick[E any](g *gen, l []E) E { return l[g.rng.IntN(len(l))] }

var (
	niceRunes = rapid.RuneFrom([]rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,éöüßÆДж中文"))
	slugRunes = rapid.RuneFrom([]rune("abcdefghijklmnopqrstuvwxyz0123456789-_"))
	patterns  sync.Map // pattern → *rapid.Generator[string]
)

func (g *gen) text(label string, minRunes, maxRunes int) string {
	return rapid.StringOfN(niceRunes, minRunes, maxRunes, -1).Draw(g.rt, label)
}

func (g *gen) matching(label, pattern string) string {
	gv, ok := patterns.Load(pattern)
	if !ok {
		gv, _ = patterns.LoadOrStore(pattern, rapid.StringMatching(pattern))
	}
	return gv.(*rapid.Generator[string]).Draw(g.rt, label)
}

func (g *gen) request(op *operation, index int) *request {
	r := &request{op: op, index: index, pathVals: map[string]string{}}
	// Four kinds of request: all valid; valid but for one hostile input
	// (the shape most likely to get past validation and reach SQL); and
	// two mixes with more hostile values.
	single := false
	switch x := g.rng.Float64(); {
	case x < 0.3:
		g.hostileP = 0
	case x < 0.75:
		g.hostileP, single = 0, true
	case x < 0.9:
		g.hostileP = 0.2
	default:
		g.hostileP = 0.5
	}
	g.fa, g.op = op.FA, op
	r.token = g.token()
	g.collection = g.f.collectionOf(op.Path)

	// Path parameters: uuid before id, so that a version id can belong to
	// the object.
	params := slices.Clone(op.Params)
	sort.SliceStable(params, func(i, j int) bool { return params[i].Name == "uuid" && params[j].Name != "uuid" })
	for _, p := range params {
		if p.In == "path" {
			r.pathVals[p.Name] = g.pathValue(op, p, r)
		}
	}
	if op.Method == "PATCH" && strings.HasPrefix(op.Path, "/api/users/") {
		g.keepDemoUsers = g.f.protected[extractUUID(r.pathVals["uuid"])]
	}
	if strings.HasSuffix(op.Path, "/delete_user/") {
		g.keepDemoUsers = true
	}

	for _, p := range op.Params {
		if p.In != "query" {
			continue
		}
		include := 0.35
		if desc, _ := p.Schema["description"].(string); p.Required || strings.HasPrefix(desc, "Required") {
			include = 0.95
		}
		if !g.chance(include) {
			continue
		}
		if mainType(p.Schema) == "array" {
			for n := 1 + g.intn(3); n > 0; n-- {
				r.query = append(r.query, queryParam{p.Name, g.queryValue(p.Name, g.f.doc.resolve(p.Schema)["items"])})
			}
			continue
		}
		r.query = append(r.query, queryParam{p.Name, g.queryValue(p.Name, p.Schema)})
	}
	if g.chance(g.hostileP * 0.15) {
		r.query = append(r.query, queryParam{pick(g, []string{"unknown", "format", "page", "\x00", "uuid", "o", "\xff"}), g.hostileString("query", nil)})
	}
	// rapid wants every Custom generator to draw; this draw also varies the
	// parameter order, which a server must not care about.
	if rapid.Bool().Draw(g.rt, "reverse query") {
		slices.Reverse(r.query)
	}
	if len(r.query) > 0 && g.chance(g.hostileP*0.1) {
		q := pick(g, r.query)
		r.query = append(r.query, queryParam{q.name, g.hostileString(q.name, nil)})
	}

	switch {
	case op.Body != nil && g.chance(g.hostileP*0.3):
		g.badBody(r)
	case op.Body != nil && g.chance(0.03):
		// no body at all
	case op.Body != nil:
		r.hasBody = true
		r.body = g.value("", op.Body, 0)
	case op.mutating() && g.chance(g.hostileP*0.1):
		// A body for an operation that takes none.
		if g.chance(0.5) {
			g.badBody(r)
		} else {
			r.hasBody, r.body = true, map[string]any{"unexpected": g.text("unexpected", 0, 8)}
		}
	}
	if single {
		g.mutateOne(r)
	}
	if m, ok := r.body.(map[string]any); ok && g.keepDemoUsers && op.Method == "PATCH" {
		// A token holder keeps its account as it is: active, with its
		// flags, and its name and password for logins. Values of the
		// wrong type stay: they are refused anyway.
		for _, k := range []string{"is_active", "is_staff", "is_support", "username", "password"} {
			switch m[k].(type) {
			case bool, string:
				delete(m, k)
			}
		}
	}
	if r.hasBody || r.rawBody != nil {
		r.ctype = "application/json"
		if g.chance(g.hostileP * 0.05) {
			r.ctype = pick(g, []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/xml"})
		}
	}
	return r
}

func (g *gen) token() string {
	weights := tokenWeights
	if g.fa {
		weights = faTokenWeights
	}
	total := 0
	for _, w := range weights {
		total += w.weight
	}
	n := g.intn(total)
	for _, w := range weights {
		if n < w.weight {
			return w.label
		}
		n -= w.weight
	}
	return "staff"
}

// mutateOne makes one input of an otherwise valid request hostile: a path
// parameter, a query parameter, one body property (possibly one level
// down), the whole body, an unknown key or a missing required one.
func (g *gen) mutateOne(r *request) {
	op := r.op
	var slots []string
	for _, p := range op.Params {
		slots = append(slots, p.In+" "+p.Name)
	}
	var props map[string]any
	if op.Body != nil {
		props, _ = g.f.doc.resolve(op.Body)["properties"].(map[string]any)
		for _, k := range sortedKeys(props) {
			// Body properties are where values reach the database: twice
			// the weight.
			slots = append(slots, "body "+k, "body "+k)
		}
		slots = append(slots, "whole body", "unknown key", "drop required")
	}
	if len(slots) == 0 {
		return
	}
	where, name, _ := strings.Cut(pick(g, slots), " ")
	switch where {
	case "path":
		switch name {
		case "uuid":
			r.pathVals[name] = g.badUUID(true)
		case "id":
			r.pathVals[name] = pick(g, []string{"0", "-1", "99999999999999999999", "abc", "1.5", "\x00", "1e400", " 1"})
		default:
			r.pathVals[name] = g.hostileString(name, nil)
		}
	case "query":
		p := op.param(name, "query")
		r.query = slices.DeleteFunc(r.query, func(q queryParam) bool { return q.name == name })
		s := g.f.doc.resolve(p.Schema)
		if mainType(s) == "array" {
			s, _ = s["items"].(map[string]any)
		}
		r.query = append(r.query, queryParam{name, g.hostileString(name, s)})
	case "whole":
		g.badBody(r)
	default:
		m, ok := r.body.(map[string]any)
		if !ok || r.rawBody != nil {
			m = map[string]any{}
			r.body, r.hasBody, r.rawBody = m, true, nil
		}
		switch where {
		case "unknown":
			m[pick(g, []string{"unknown", "uuid", "id", "is_staff", "created", "url"})] = "x"
		case "drop":
			if req := asStrings(g.f.doc.resolve(op.Body)["required"]); len(req) > 0 {
				delete(m, pick(g, req))
			}
		case "body":
			ps, _ := props[name].(map[string]any)
			ps = g.f.doc.resolve(ps)
			// One level down, into an object the body already holds.
			if inner, ok := m[name].(map[string]any); ok && g.chance(0.4) {
				if ip, ok := ps["properties"].(map[string]any); ok && len(ip) > 0 {
					k := pick(g, sortedKeys(ip))
					is, _ := ip[k].(map[string]any)
					inner[k] = g.hostile(k, g.f.doc.resolve(is), 2)
					return
				}
			}
			m[name] = g.hostile(name, ps, 1)
		}
	}
}

// badBody replaces the body with a malformed or mistyped document.
func (g *gen) badBody(r *request) {
	var s string
	switch x := g.intn(100); {
	case x < 1:
		s = `{"name":"` + strings.Repeat("x", 1<<20+10) + `"}`
	case x < 4:
		s = strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	default:
		s = pick(g, []string{
			"", " ", "null", "[]", "[{}]", `"text"`, "42", "1e400", "true", "{", `{"name":`, `{"a":1}}`,
			"\xff\xfe", `{'name': 'x'}`, `{"name":"x","name":"y"}`, `{"name":"\u0000"}`, "\x00",
			`{"name":"a` + "\xff" + `"}`, "{}", `{"":null}`, "name=x&slug=y", "<xml/>",
		})
	}
	r.rawBody = &s
}

// pathValue draws a path parameter: mostly real objects, sometimes
// malformed or absent ones.
func (g *gen) pathValue(op *operation, p param, r *request) string {
	if g.fa && p.Name == "id" {
		return g.faPathID(op)
	}
	switch p.Name {
	case "uuid":
		return g.uuidFrom(g.f.collectionOf(op.Path), true)
	case "id":
		if !strings.Contains(op.Path, "/history/") {
			if ids := g.f.ids[g.f.collectionOf(op.Path)]; len(ids) > 0 && !g.chance(g.hostileP+0.1) {
				return pick(g, ids)
			}
		}
		return g.versionID(r.pathVals["uuid"])
	}
	return g.str(p.Name, p.Schema)
}

func (g *gen) uuidFrom(pool string, inPath bool) string {
	uuids := g.f.pools[pool]
	if len(uuids) > 0 && !g.chance(g.hostileP+0.1) {
		u := pick(g, uuids)
		switch x := g.rng.Float64(); {
		case x < 0.75:
			return u
		case x < 0.88:
			return dashed(u)
		case x < 0.94 || inPath:
			return strings.ToUpper(u)
		default:
			return g.f.base + pool + u + "/"
		}
	}
	return g.badUUID(inPath)
}

func (g *gen) badUUID(inPath bool) string {
	l := []string{
		"00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000",
		g.randomUUID(), dashed(g.randomUUID()), "not-a-uuid", "ffffffffffffffffffffffffffffffff",
		strings.Repeat("g", 32), "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
		"\x00", "1e400", "-1", strings.Repeat("a", 1000), "a/b", "%", " 0123456789abcdef0123456789abcdef",
	}
	if all := g.f.allUUIDs(); len(all) > 0 {
		// An object of another kind.
		l = append(l, pick(g, all), pick(g, all)+"\x00")
	}
	if !inPath {
		l = append(l, "", "http://example.com/api/users/00000000000000000000000000000000/", g.f.base+"/api/")
	}
	return pick(g, l)
}

func (g *gen) randomUUID() string {
	return fmt.Sprintf("%016x%016x", g.rng.Uint64(), g.rng.Uint64())
}

func (g *gen) versionID(objUUID string) string {
	if ids := g.f.versions[normUUID(objUUID)]; len(ids) > 0 && !g.chance(g.hostileP+0.1) {
		return pick(g, ids)
	}
	if len(g.f.allVersions) > 0 && g.chance(0.4) {
		return pick(g, g.f.allVersions)
	}
	return pick(g, []string{"0", "-1", "1", "99999999999999999999", "9223372036854775807", "9223372036854775808",
		"abc", "1.5", "1e3", "\x00", " 1", "+1", "0x10", "1" + strings.Repeat("0", 400)})
}

// queryValue draws a query parameter's value.
func (g *gen) queryValue(name string, s any) string {
	schema, _ := s.(map[string]any)
	schema = g.f.doc.resolve(schema)
	if g.chance(g.hostileP) {
		return g.hostileString(name, schema)
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return fmt.Sprint(pick(g, enum))
	}
	switch mainType(schema) {
	case "integer", "number":
		return fmt.Sprint(g.integer(name, schema))
	case "boolean":
		return pick(g, []string{"true", "false"})
	}
	return g.str(name, schema)
}

// value draws a JSON value for schema s; name is the property's name.
func (g *gen) value(name string, s map[string]any, depth int) any {
	s = g.f.doc.resolve(s)
	if depth > 0 && g.chance(g.hostileP) {
		return g.hostile(name, s, depth)
	}
	if nullable(s) && g.chance(0.1) {
		return nil
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return pick(g, enum)
	}
	switch mainType(s) {
	case "object":
		return g.object(name, s, depth)
	case "array":
		n := rapid.IntRange(0, 4).Draw(g.rt, name+"[]")
		items, _ := s["items"].(map[string]any)
		l := make([]any, 0, n)
		for range n {
			l = append(l, g.value(name, items, depth+1))
		}
		return l
	case "string":
		return g.str(name, s)
	case "integer":
		if g.fa {
			return g.faInteger(name, s)
		}
		return g.integer(name, s)
	case "number":
		if g.fa && faEpochMillis(name, s) {
			return json.Number(strconv.FormatInt(g.faInstant(), 10))
		}
		return json.Number(g.decimal())
	case "boolean":
		return g.chance(0.5)
	}
	return g.anyValue(name, depth)
}

func (g *gen) object(name string, s map[string]any, depth int) any {
	props, _ := s["properties"].(map[string]any)
	required := asStrings(s["required"])
	m := map[string]any{}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps, _ := props[k].(map[string]any)
		p := 0.5
		if slices.Contains(required, k) {
			p = 0.95
		} else if g.fa {
			// FusionAuth marks required properties in their descriptions
			// ("Required. …"), and a request wraps its object in a key
			// ({"webhook": {…}}) that heed reports missing itself. What the
			// server keeps (readOnly: ids of its own, instants) is an
			// input only now and then, to see that it is ignored.
			desc, _ := ps["description"].(string)
			switch {
			case strings.HasPrefix(desc, "Required") || depth == 0 && mainType(g.f.doc.resolve(ps)) == "object":
				p = 0.9
			case ps["readOnly"] == true:
				p = 0.1
			case strings.HasSuffix(k, "Id"):
				// References (userActionId, actioneeUserId) are mostly
				// what the request is about.
				p = 0.8
			}
		}
		if g.chance(p) {
			m[k] = g.value(k, ps, depth+1)
		}
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok && len(props) == 0 {
		g.freeForm(name, ap, m, depth)
	}
	if depth == 0 && g.chance(0.7) {
		g.cohere(m)
	}
	if g.chance(g.hostileP * 0.3) {
		m[pick(g, []string{"unknown", "uuid", "id", "is_staff", "created", "url", "\x00", ""})] = pick(g, []any{"x", json.Number("1"), nil, true})
	}
	return m
}

// cohere makes the references of a body agree with each other: one of
// them (say a plan) anchors, and the others (its offering) follow from
// what the anchor refers to. A login gets a matching demo user and
// password.
func (g *gen) cohere(m map[string]any) {
	if _, ok := m["password"].(string); ok {
		if _, ok := m["username"].(string); ok {
			u := pick(g, demoUsers[:3])
			m["username"], m["password"] = u, "demo-"+u+"-password"
		}
	}
	var refs []string
	for _, k := range sortedKeys(m) {
		if s, ok := m[k].(string); ok && refFields[k] != "" && g.f.refs[extractUUID(s)] != nil {
			refs = append(refs, k)
		}
	}
	if len(refs) < 2 {
		return
	}
	anchor := pick(g, refs)
	links := g.f.refs[extractUUID(m[anchor].(string))]
	for _, k := range refs {
		if k == anchor {
			continue
		}
		field := strings.TrimSuffix(k, "_uuid") + "_uuid"
		if u, ok := links[field]; ok {
			m[k] = u
		}
	}
}

// freeForm fills an object whose keys the document leaves open
// (attributes, options, limits, plugin_options).
func (g *gen) freeForm(name string, ap map[string]any, m map[string]any, depth int) {
	if g.fa && g.faFreeForm(name, ap, m, depth) {
		return
	}
	switch name {
	case "attributes":
		if g.chance(0.8) {
			m["name"] = g.text("attributes.name", 1, 30)
		}
	case "plugin_options":
		if g.chance(0.6) {
			m["resource_expiration_reminders"] = []any{json.Number("30"), json.Number("7")}
		}
		if g.chance(0.6) {
			m["manual_provider_approval"] = g.chance(0.5)
		}
		return
	case "limits":
		for _, k := range []string{"cpu", "ram", "storage"} {
			if g.chance(0.5) {
				m[k] = g.value(k, ap, depth+1)
			}
		}
		return
	}
	for n := g.intn(3); n > 0; n-- {
		k := pick(g, []string{"cores", "note", "size", "flag", "nested"})
		if len(ap) == 0 {
			m[k] = g.anyValue(k, depth+1)
		} else {
			m[k] = g.value(k, ap, depth+1)
		}
	}
}

func (g *gen) anyValue(name string, depth int) any {
	switch g.intn(6) {
	case 0:
		return g.text(name, 0, 20)
	case 1:
		return json.Number(fmt.Sprint(rapid.Int64Range(-1000, 1000).Draw(g.rt, name)))
	case 2:
		return g.chance(0.5)
	case 3:
		return nil
	case 4:
		if depth < 4 {
			return []any{g.anyValue(name, depth+1)}
		}
	case 5:
		if depth < 4 {
			return map[string]any{"k": g.anyValue(name, depth+1)}
		}
	}
	return "x"
}

func (g *gen) integer(name string, s map[string]any) int64 {
	lo, hi := int64(0), int64(1000)
	if v, ok := num(s["minimum"]); ok {
		lo = int64(v)
		hi = lo + 1000
	}
	if v, ok := num(s["maximum"]); ok {
		hi = int64(v)
	}
	if hi < lo {
		hi = lo
	}
	return rapid.Int64Range(lo, hi).Draw(g.rt, name)
}

func (g *gen) decimal() string {
	switch g.intn(4) {
	case 0:
		return fmt.Sprint(g.intn(1000))
	case 1:
		return fmt.Sprintf("%d.%d", g.intn(1000), g.intn(10))
	default:
		return fmt.Sprintf("%d.%02d", g.intn(1000), g.intn(100))
	}
}

func (g *gen) date() string {
	return fmt.Sprintf("%04d-%02d-%02d", 2020+g.intn(16), 1+g.intn(12), 1+g.intn(28))
}

func (g *gen) dateTime() string {
	t := fmt.Sprintf("%sT%02d:%02d:%02d", g.date(), g.intn(24), g.intn(60), g.intn(60))
	if g.chance(0.3) {
		t += fmt.Sprintf(".%06d", g.intn(1000000))
	}
	return t + pick(g, []string{"Z", "Z", "+00:00", "+02:00", "-05:30"})
}

// refFields name body properties and query parameters that take an
// object's uuid or URL, by the collection they point into.
var refFields = map[string]string{
	"customer": "customer", "customer_uuid": "customer", "provider_uuid": "customer",
	"project": "project", "project_uuid": "project",
	"offering": "offering", "offering_uuid": "offering",
	"plan": "plan", "plan_uuid": "plan",
	"resource": "resource", "resource_uuid": "resource", "marketplace_resource_uuid": "resource",
	"user": "user", "user_uuid": "user",
	"order": "order", "order_uuid": "order",
}

// str draws a valid-looking string for a property or parameter.
func (g *gen) str(name string, s map[string]any) string {
	minLen, maxLen := 0, 40
	if v, ok := num(s["minLength"]); ok {
		minLen = int(v)
	}
	if v, ok := num(s["maxLength"]); ok && int(v) < maxLen {
		maxLen = int(v)
	}
	if maxLen < minLen {
		maxLen = minLen
	}
	if g.fa {
		if v, ok := g.faString(name, s); ok {
			return v
		}
	}
	if kind, ok := refFields[name]; ok {
		pool := g.f.poolFor(kind)
		if kind == "user" && g.keepDemoUsers {
			return g.userNotDemo()
		}
		return g.uuidFrom(pool, false)
	}
	switch s["format"] {
	case "date":
		return g.date()
	case "date-time":
		return g.dateTime()
	case "uuid":
		return dashed(g.uuidFrom(g.f.poolFor(name), false))
	case "email":
		return g.email()
	case "uri":
		return g.f.base + "/api/"
	}
	if p, ok := s["pattern"].(string); ok {
		return g.matching(name, p)
	}
	switch name {
	case "email":
		return g.email()
	case "unit_price", "price", "cost":
		return g.decimal()
	case "end_date", "end_date_before", "end_date_after":
		if g.chance(0.1) {
			return ""
		}
		return g.date()
	case "timestamp", "created_after", "created_before", "expiration_time", "modified_after", "modified_before":
		if g.chance(0.2) {
			return g.date()
		}
		return g.dateTime()
	case "username":
		if g.chance(0.5) && len(g.f.usernames) > 0 {
			return pick(g, g.f.usernames)
		}
		return "fz-" + rapid.StringOfN(slugRunes, 1, 12, -1).Draw(g.rt, name)
	case "password":
		if g.chance(0.5) {
			return pick(g, demoPasswords)
		}
		return g.text(name, max(minLen, 8), 30)
	case "slug":
		return rapid.StringOfN(slugRunes, max(minLen, 1), maxLen, -1).Draw(g.rt, name)
	case "o":
		return g.ordering(s)
	case "page":
		if g.chance(0.7) {
			return "1"
		}
		return fmt.Sprint(2 + g.intn(2))
	case "page_size":
		return pick(g, []string{"1", "2", "5", "10", "300", "301"})
	case "is_active", "archived", "paused":
		return pick(g, []string{"true", "false", "True", "False", "1", "0", ""})
	case "field":
		if l := g.f.objectFields[g.collection]; len(l) > 0 && g.chance(0.8) {
			return pick(g, l)
		}
		return pick(g, g.f.fieldNames)
	case "to", "id":
		return pick(g, append(g.f.allVersions, "1"))
	case "type":
		return pick(g, []string{"basic", "Marketplace.Basic", "", "slurm"})
	case "name":
		if g.chance(0.5) && len(g.f.objectNames) > 0 {
			n := pick(g, g.f.objectNames)
			if len(n) > 3 && g.chance(0.5) {
				n = n[1 : len(n)-1]
			}
			return n
		}
	}
	return g.text(name, minLen, maxLen)
}

func (g *gen) userNotDemo() string {
	var l []string
	for _, u := range g.f.pools[g.f.poolFor("user")] {
		if !g.f.protected[u] {
			l = append(l, u)
		}
	}
	if len(l) == 0 {
		return g.badUUID(false)
	}
	return pick(g, l)
}

func (g *gen) email() string {
	if g.chance(0.3) && len(g.f.emails) > 0 {
		return pick(g, g.f.emails)
	}
	return rapid.StringOfN(slugRunes, 1, 10, -1).Draw(g.rt, "email") + "@example.com"
}

func (g *gen) ordering(s map[string]any) string {
	desc, _ := s["description"].(string)
	fields := orderingFields(desc)
	if len(fields) == 0 {
		fields = []string{"name", "created", "modified", "username", "state"}
	}
	var parts []string
	for n := 1 + g.intn(2); n > 0; n-- {
		f := pick(g, fields)
		if g.chance(0.4) {
			f = "-" + f
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, ",")
}

// hostile draws a value meant to be refused: null, a wrong type, or a
// value of the right type outside what the field can hold.
func (g *gen) hostile(name string, s map[string]any, depth int) any {
	t := mainType(s)
	switch x := g.rng.Float64(); {
	case x < 0.15:
		return nil
	case x < 0.3:
		return g.wrongType(t)
	}
	switch t {
	case "string", "":
		if g.chance(0.15) {
			// Invalid UTF-8 inside a JSON string.
			return rawJSON(`"` + g.text(name, 0, 5) + "\xff\xfe" + `"`)
		}
		return g.hostileString(name, s)
	case "integer", "number":
		l := []any{json.Number("0"), json.Number("-1"), json.Number("1e400"), json.Number("-1e400"),
			json.Number("99999999999999999999999999.99"), json.Number("9223372036854775808"),
			json.Number("-9223372036854775809"), json.Number("1.5"), json.Number("1e-400"), json.Number("2147483648")}
		if v, ok := num(s["minimum"]); ok {
			l = append(l, json.Number(fmt.Sprint(int64(v)-1)))
		}
		if v, ok := num(s["maximum"]); ok {
			l = append(l, json.Number(fmt.Sprint(int64(v)+1)))
		}
		return pick(g, l)
	case "boolean":
		return pick(g, []any{"true", json.Number("1"), json.Number("0"), "yes", []any{}})
	case "object":
		return pick(g, []any{[]any{}, "x", map[string]any{"\x00": nil}, map[string]any{"": "x"},
			rawJSON(strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200))})
	case "array":
		big := make([]any, 500)
		for i := range big {
			big[i] = "x"
		}
		return pick(g, []any{map[string]any{}, "x", []any{nil}, []any{json.Number("1e400")}, big, []any{[]any{"x"}}})
	}
	return g.hostileString(name, s)
}

func (g *gen) wrongType(t string) any {
	all := map[string][]any{
		"string":  {"x", ""},
		"integer": {json.Number("1"), json.Number("-7")},
		"number":  {json.Number("1.25")},
		"boolean": {true, false},
		"array":   {[]any{}, []any{"x"}},
		"object":  {map[string]any{}, map[string]any{"k": "v"}},
	}
	var l []any
	for _, k := range []string{"string", "integer", "number", "boolean", "array", "object"} {
		if k != t && (t != "number" || k != "integer") && (t != "integer" || k != "number") {
			l = append(l, all[k]...)
		}
	}
	return pick(g, l)
}

// hostileString draws a string that a careless server would store, choke
// on, or store and later fail to read.
func (g *gen) hostileString(name string, s map[string]any) string {
	var specific []string
	switch {
	case refFields[name] != "":
		specific = []string{g.badUUID(false), g.badUUID(false), g.f.base + "/api/users/" + g.randomUUID() + "/",
			"http://example.com" + g.f.poolFor(refFields[name]) + g.uuidFrom(g.f.poolFor(refFields[name]), false) + "/"}
	case name == "password":
		specific = []string{strings.Repeat("p", 72), strings.Repeat("p", 73), strings.Repeat("€", 25), "short", "pass\x00word"}
	case name == "unit_price" || name == "price":
		specific = []string{"10.505", "-1.00", "1e400", "NaN", "Infinity", "99999999999999999999999999.99", "0.001", "1,50", " 10.50", "10.", ".5", "1e2"}
	case strings.Contains(name, "date") || strings.Contains(name, "time") || strings.HasPrefix(name, "created_"):
		specific = []string{"0000-01-01", "10000-01-01", "9999-12-31", "0001-01-01", "2024-02-30", "2024-13-01",
			"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999+14:00", "10000-01-01T00:00:00Z", "yesterday", "1700000000"}
	case name == "username" || name == "slug":
		specific = []string{"Has Space", "slash/name", "ünïcode", "-", "a\x00", strings.Repeat("u", 151)}
	case name == "email":
		specific = []string{"not-an-email", "@", "a@b", strings.Repeat("e", 250) + "@x.org", "a\x00@example.com"}
	case name == "o":
		specific = []string{"unknown", "-", ",", "--name", "name;DROP TABLE users", "name,,created", "?"}
	case name == "page" || name == "page_size":
		specific = []string{"0", "-1", "99999999999999999999", "1.5", "abc", "1e3", "300000"}
	}
	long := []string{strings.Repeat("x", 256), strings.Repeat("a", 5000), strings.Repeat("🙂", 100)}
	if s != nil {
		if v, ok := num(s["maxLength"]); ok {
			// One rune too many, and exactly the limit in two-byte runes.
			long = append(long, strings.Repeat("a", int(v)+1), strings.Repeat("ж", int(v)))
		}
	}
	classes := []struct {
		weight int
		values []string
	}{
		{18, []string{"\x00", "a\x00b", g.text(name, 1, 8) + "\x00"}},
		{30, specific},
		{10, long},
		{8, []string{"0000-01-01", "10000-01-01", "9999-12-31", "0001-01-01", "2024-02-30", "-0001-01-01",
			"0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-01-01T00:00:00+25:00"}},
		{8, []string{"0", "-1", "1e400", "99999999999999999999999999.99", "NaN", "-0"}},
		{8, []string{"\x1b[31m", "\u202e", "\ufeff", "\xff\xfe", "a\xc3", rapid.String().Draw(g.rt, name)}},
		{6, []string{"", " ", "  padded  ", "\t\n"}},
		{5, []string{"00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000"}},
		{5, []string{"' OR '1'='1", "%_", "\\", "null", "true", "{}", "[]"}},
	}
	total := 0
	for _, c := range classes {
		if len(c.values) > 0 {
			total += c.weight
		}
	}
	n := g.intn(total)
	for _, c := range classes {
		if len(c.values) == 0 {
			continue
		}
		if n < c.weight {
			return pick(g, c.values)
		}
		n -= c.weight
	}
	return "\x00"
}

// dashed turns 32 hex digits into the 8-4-4-4-12 form.
func dashed(u string) string {
	if len(u) != 32 {
		return u
	}
	return u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:]
}

var hex32 = regexp.MustCompile(`[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}`)

// extractUUID finds the uuid in a reference (bare, dashed or in a URL).
func extractUUID(s string) string { return normUUID(hex32.FindString(s)) }

// normUUID is the 32-hex lower-case form of a uuid in either spelling.
func normUUID(u string) string { return strings.ToLower(strings.ReplaceAll(u, "-", "")) }
