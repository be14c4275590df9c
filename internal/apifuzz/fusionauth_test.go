package apifuzz

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"pgregory.net/rapid"

	"github.com/heed-dev/heed/internal/events"
)

// The FusionAuth family (design §5, fusionauth-compat.md §1) speaks
// FusionAuth's dialect: errors are an Errors object,
//
//	{"fieldErrors": {"<path>": [{"code": "[type]<path>", "message", "data"?}]},
//	 "generalErrors": [{"code": "[type]", "message", "data"?}]}
//
// sent as application/json with 400 (and 413, 415, and 504 for a vetoed
// transactional change), while 401, 404, 405 and 500 have no body at all;
// an API key is a staff token sent bare in Authorization. Its operations
// are checked against these rules instead of DRF's; everything else the
// fuzzer promises (no 5xx, declared statuses, bodies valid against the
// document, rejected requests and reads leave the database alone) holds
// for both families.

// faPrefixes mirrors fusionAuthPrefixes in internal/api/fusionauth.go: the
// OpenAPI document does not say which family an operation belongs to
// (Huma does not serialise an operation's metadata), so the path decides,
// as it does in heed. newFuzzer cross-checks the rule against the
// operations' "FusionAuth: …" tags, so the two lists cannot drift apart
// unnoticed.
var faPrefixes = []string{
	"/api/webhook", "/api/tenant", "/api/key", "/api/system", "/api/system-configuration", "/api/user-action",
	"/api/user-action-reason", "/api/user", "/api/application", "/api/email/template",
}

func isFusionAuthPath(p string) bool {
	for _, pre := range faPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// faTagged reports whether an operation carries a "FusionAuth: …" tag.
func faTagged(op *operation) bool {
	return slices.ContainsFunc(op.Tags, func(t string) bool { return strings.HasPrefix(t, "FusionAuth:") })
}

// faFamilyMismatches lists the operations under /api/ whose tag and path
// disagree about their family. Operations outside /api/ (the anonymous
// /.well-known/jwks.json) are tagged with their FusionAuth topic but speak
// no error dialect of their own.
func faFamilyMismatches(ops []*operation) []string {
	var out []string
	for _, op := range ops {
		if !strings.HasPrefix(op.Path, "/api/") || faTagged(op) == op.FA {
			continue
		}
		out = append(out, fmt.Sprintf("%s: tags %v, but the path rule (faPrefixes) says FusionAuth=%v", op.Key, op.Tags, op.FA))
	}
	return out
}

// faEmptyStatus mirrors emptyBody in internal/api/fusionauth.go: the
// statuses FusionAuth answers with no body.
func faEmptyStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusMethodNotAllowed ||
		(status >= 500 && status != http.StatusGatewayTimeout)
}

// faAbsentQuery: heed reads the query values FusionAuth's TypeScript
// client sends for a missing argument as absent (compat §1, "heed decides").
func faAbsentQuery(v string) bool {
	switch strings.TrimSpace(v) {
	case "", "undefined", "null":
		return true
	}
	return false
}

// dropNullProperties removes the properties whose value is null, at every
// depth: FusionAuth reads them as absent.
func dropNullProperties(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if c == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNullProperties(c)
		}
	case []any:
		for i, c := range x {
			x[i] = dropNullProperties(c)
		}
	}
	return v
}

// faShape returns why a FusionAuth-family error answer is not what
// FusionAuth sends: no body (and no Content-Type) for the empty statuses,
// else an application/json Errors object holding at least one error, every
// field error filed under the path its code names.
func faShape(status int, header http.Header, body []byte) string {
	if faEmptyStatus(status) {
		if len(body) != 0 {
			return fmt.Sprintf("%d with a body (%d bytes); FusionAuth sends none", status, len(body))
		}
		if ct := header.Get("Content-Type"); ct != "" {
			// FusionAuth's TypeScript client parses any application/json
			// answer, and an empty one does not parse.
			return fmt.Sprintf("%d without a body but with Content-Type %q", status, ct)
		}
		return ""
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Sprintf("Content-Type %q, not application/json (the TypeScript client would not read the Errors)", ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "body is not JSON: " + err.Error()
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf("body is a JSON %s, not an Errors object", jsonType(v)[0])
	}
	for _, k := range sortedKeys(m) {
		if k != "fieldErrors" && k != "generalErrors" {
			return fmt.Sprintf("key %q is not part of an Errors object", k)
		}
	}
	n := 0
	if fe, present := m["fieldErrors"]; present {
		fields, ok := fe.(map[string]any)
		if !ok || len(fields) == 0 {
			return fmt.Sprintf("fieldErrors is %s, not an object naming fields", short(fe))
		}
		for _, k := range sortedKeys(fields) {
			l, ok := fields[k].([]any)
			if !ok || len(l) == 0 {
				return fmt.Sprintf("fieldErrors[%q] is %s, not a non-empty list of errors", k, short(fields[k]))
			}
			for _, item := range l {
				path, why := faErrorItem(item)
				if why != "" {
					return fmt.Sprintf("fieldErrors[%q]: %s", k, why)
				}
				if path != k {
					return fmt.Sprintf("fieldErrors[%q] holds a code for %q", k, path)
				}
				n++
			}
		}
	}
	if ge, present := m["generalErrors"]; present {
		l, ok := ge.([]any)
		if !ok || len(l) == 0 {
			return fmt.Sprintf("generalErrors is %s, not a non-empty list of errors", short(ge))
		}
		for _, item := range l {
			if _, why := faErrorItem(item); why != "" {
				return "generalErrors: " + why
			}
			n++
		}
	}
	if n == 0 {
		return "an Errors object with no error"
	}
	return ""
}

// faErrorItem checks one error ({"code": "[type]path", "message", "data"?})
// and returns the path its code names.
func faErrorItem(item any) (path, why string) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", fmt.Sprintf("error %s is not an object", short(item))
	}
	for _, k := range sortedKeys(m) {
		if k != "code" && k != "message" && k != "data" {
			return "", fmt.Sprintf("error has the key %q", k)
		}
	}
	code, _ := m["code"].(string)
	end := strings.Index(code, "]")
	if !strings.HasPrefix(code, "[") || end < 2 {
		return "", fmt.Sprintf("code %s is not [type]path", short(m["code"]))
	}
	if msg, _ := m["message"].(string); strings.TrimSpace(msg) == "" {
		return "", fmt.Sprintf("code %s has no message", code)
	}
	if d, present := m["data"]; present {
		if _, ok := d.(map[string]any); !ok {
			return "", fmt.Sprintf("code %s has data %s, not an object", code, short(d))
		}
	}
	return code[end+1:], ""
}

// faFieldErrorKeys returns the field paths of an Errors body.
func faFieldErrorKeys(body []byte) []string {
	var m struct {
		FieldErrors map[string]json.RawMessage `json:"fieldErrors"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return sortedKeys(m.FieldErrors)
}

// faGeneralCodes returns the codes of an Errors body's general errors.
func faGeneralCodes(body []byte) []string {
	var m struct {
		GeneralErrors []struct {
			Code string `json:"code"`
		} `json:"generalErrors"`
	}
	_ = json.Unmarshal(body, &m)
	var out []string
	for _, e := range m.GeneralErrors {
		out = append(out, e.Code)
	}
	return out
}

// vetoed reports a 5xx that is no server failure: the 504 with which a
// transactional webhook vetoes a change (FusionAuth's
// [WebhookTransactionException]), declared by the operation and in its
// family's dialect. The run makes tenants transactional and points
// webhooks at hosts that do not exist, so its own changes get vetoed.
func vetoed(op *operation, res *result) bool {
	if res.status != http.StatusGatewayTimeout || op.Responses["504"] == nil {
		return false
	}
	if op.FA {
		return faShape(res.status, res.header, res.body) == "" && slices.Contains(faGeneralCodes(res.body), "[WebhookTransactionException]")
	}
	var d struct{ Detail string }
	return drfShape(res.body) == "" && json.Unmarshal(res.body, &d) == nil && d.Detail == events.MsgWebhookTransaction
}

// splitFAPath splits a FusionAuth field path into its steps:
// "tenant.eventConfiguration.events[order.state-changed].transactionType"
// → tenant, eventConfiguration, events, [order.state-changed], transactionType.
func splitFAPath(p string) []string {
	var out []string
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return append(out, p)
			}
			out = append(out, p[:end+1])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			out = append(out, p[:end])
			p = p[end:]
		}
	}
	return out
}

// knownFAErrorKey reports whether a fieldErrors path names something the
// operation accepts: a parameter, a property path of the body (through
// maps and lists: "webhook.headers.x-y", "search.orderBy",
// "webhook.tenantIds[0]"), or the object's id spelled FusionAuth's way, as
// in "webhookId" for the {id} of /api/webhook/{id} ("[duplicate]webhookId",
// "[inUse]keyId").
func (d *document) knownFAErrorKey(op *operation, key string) bool {
	steps := splitFAPath(key)
	if len(steps) == 0 {
		return false
	}
	first := steps[0]
	for _, p := range op.Params {
		if p.Name == first || p.In == "header" && strings.EqualFold(p.Name, "X-FusionAuth-TenantId") && first == "tenantId" {
			return true
		}
	}
	if len(steps) == 1 && op.param("id", "path") != nil {
		if stem, ok := strings.CutSuffix(first, "Id"); ok && stem != "" && slices.Contains(pathStems(op.Path), stem) {
			return true
		}
	}
	// A search by query parameters (GET /api/webhook/search?orderBy=…)
	// validates the criteria the POST search carries in its body, and heed
	// names a refused one by its path there: search.orderBy. Its last step
	// must be a query parameter of this operation.
	if len(steps) == 2 && op.param(steps[1], "query") != nil {
		return true
	}
	if op.Body == nil {
		return false
	}
	return d.schemaHasPath(op.Body, steps)
}

// schemaHasPath walks a property path down a schema. A map
// (additionalProperties with a schema) takes any key; a schema that
// declares no properties, items or map values is free-form and takes any
// path below it. additionalProperties: true alone does not count: heed's
// FusionAuth objects all allow unknown keys, which then name nothing.
func (d *document) schemaHasPath(s map[string]any, steps []string) bool {
	s = d.resolve(s)
	if len(steps) == 0 {
		return true
	}
	if s == nil {
		return false
	}
	step := steps[0]
	props, _ := s["properties"].(map[string]any)
	items, _ := s["items"].(map[string]any)
	ap, _ := s["additionalProperties"].(map[string]any)
	if strings.HasPrefix(step, "[") {
		switch {
		case items != nil:
			return d.schemaHasPath(items, steps[1:])
		case ap != nil:
			return d.schemaHasPath(ap, steps[1:])
		}
		return len(props) == 0 && mainType(s) != "string"
	}
	if ps, ok := props[step].(map[string]any); ok {
		return d.schemaHasPath(ps, steps[1:])
	}
	if ap != nil {
		// A map key may hold dots ("user.action"), which a path spells
		// as they are: try every split.
		for n := 1; n <= len(steps); n++ {
			if d.schemaHasPath(ap, steps[n:]) {
				return true
			}
		}
		return false
	}
	return len(props) == 0 && items == nil && (mainType(s) == "object" || mainType(s) == "")
}

// sentFAPath reports whether the request's own body carried the path an
// error names (a key the document does not declare may be refused under
// its own name).
func (r *request) sentFAPath(key string) bool {
	v := r.sentBody()
	for _, q := range r.query {
		// JSON carries an invalid UTF-8 name as U+FFFD.
		if q.name == key || strings.ToValidUTF8(q.name, "\uFFFD") == key {
			return true
		}
	}
	for _, step := range splitFAPath(key) {
		switch x := v.(type) {
		case map[string]any:
			c, ok := x[strings.Trim(step, "[]")]
			if !ok {
				return false
			}
			v = c
		case []any:
			i, err := strconv.Atoi(strings.Trim(step, "[]"))
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			v = x[i]
		default:
			return false
		}
	}
	return true
}

func (r *request) sentBody() any {
	if r.rawBody != nil {
		var v any
		_ = json.Unmarshal([]byte(*r.rawBody), &v)
		return v
	}
	return r.body
}

// dottedKey reports whether a JSON value holds an object key with a dot.
func dottedKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if strings.Contains(k, ".") || dottedKey(c) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, dottedKey)
	}
	return false
}

// dottedKeyMisplaced: once Huma's validator has walked a map key holding
// a dot ("user.action"), the locations of the errors it finds after it in
// the same object are wrong: its PathBuffer.Pop (huma v2.37.2,
// validate.go) cuts the path at the key's last dot rather than before the
// key, so {"tenant": {"eventConfiguration": {"events": {"a.b": …}}, "id":
// […]}} reports tenant.eventConfiguration.id. heed passes Huma's location
// on and cannot recover the true one. For such a request the path's first
// step must still name a body property, as the Waldur rule asks.
func (d *document) dottedKeyMisplaced(op *operation, r *request, key string) bool {
	if op.Body == nil || !dottedKey(r.sentBody()) {
		return false
	}
	steps := splitFAPath(key)
	props, _ := d.resolve(op.Body)["properties"].(map[string]any)
	return len(steps) > 0 && props[steps[0]] != nil
}

// pathStems lists the names a path's static segments can give an object:
// every run of consecutive segments, camelCased, longest first among the
// runs that end at the same segment, the runs nearest the end first:
// /api/email/template/{id} → emailTemplate, template, email.
func pathStems(path string) []string {
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if s == "" || s == "api" || s == "system" || strings.HasPrefix(s, "{") {
			continue
		}
		segs = append(segs, camel(s))
	}
	var out []string
	for end := len(segs); end > 0; end-- {
		for start := 0; start < end; start++ {
			stem := segs[start]
			for _, s := range segs[start+1 : end] {
				stem += strings.ToUpper(s[:1]) + s[1:]
			}
			out = append(out, stem)
		}
	}
	return out
}

// camel turns a path segment into the camelCase stem FusionAuth builds
// names from: webhook-event-log → webhookEventLog.
func camel(seg string) string {
	parts := strings.Split(seg, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// camelWords splits signingKeyId into signing, key, id.
func camelWords(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			out = append(out, strings.ToLower(s[start:i]))
			start = i
		}
	}
	return append(out, strings.ToLower(s[start:]))
}

// ---- pools of FusionAuth ids ----

// faHarvest walks a FusionAuth answer and files every object with an id
// under the name FusionAuth gives it: {"webhook": {"id"}} and
// {"webhooks": [{"id"}]} both feed the pool "webhook".
func (f *fuzzer) faHarvest(key string, v any) {
	switch x := v.(type) {
	case map[string]any:
		if key != "" {
			if id := faIDString(x["id"]); id != "" {
				f.faAdd(strings.TrimSuffix(key, "s"), id)
			}
		}
		for _, k := range sortedKeys(x) {
			f.faHarvest(k, x[k])
		}
	case []any:
		for _, c := range x {
			f.faHarvest(key, c)
		}
	}
}

func faIDString(v any) string {
	switch x := v.(type) {
	case string:
		if dashedUUID.MatchString(x) {
			return x
		}
	case float64:
		if x >= 0 && x < 1<<53 && x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return ""
}

func (f *fuzzer) faAdd(pool, id string) {
	if len(f.faPools[pool]) >= 200 || slices.Contains(f.faPools[pool], id) {
		return
	}
	f.faPools[pool] = append(f.faPools[pool], id)
}

// faPoolMatch finds the pool for a name stem: the pool of that name, else
// one whose name ends the stem (signingKey → key) or is ended by it
// (reason → userActionReason), else one whose words all occur in the stem
// (webhookAttemptLog → attempt). "" when none fits.
func (f *fuzzer) faPoolMatch(stem string) string {
	if stem == "" {
		return ""
	}
	if _, ok := f.faPools[stem]; ok {
		return stem
	}
	best := ""
	better := func(p string) {
		if len(p) > len(best) {
			best = p
		}
	}
	title := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
	for _, p := range sortedKeys(f.faPools) {
		if p != "" && (strings.HasSuffix(stem, title(p)) || strings.HasSuffix(p, title(stem))) {
			better(p)
		}
	}
	if best != "" {
		return best
	}
	words := camelWords(stem)
	for _, p := range sortedKeys(f.faPools) {
		all := true
		for _, w := range camelWords(p) {
			if !slices.Contains(words, w) {
				all = false
			}
		}
		if all {
			better(p)
		}
	}
	return best
}

// faPoolForPath finds the pool of the {id} in a path by the names of the
// static segments before it (/api/email/template/{id} → emailTemplate,
// /api/key/generate/{id} → key).
func (f *fuzzer) faPoolForPath(path string) string {
	before, _, _ := strings.Cut(path, "{id}")
	for _, stem := range pathStems(before) {
		if p := f.faPoolMatch(stem); p != "" {
			return p
		}
	}
	return ""
}

// ---- generating FusionAuth requests ----

// faTokenWeights: FusionAuth operations let staff API keys in only, sent
// bare as FusionAuth clients do or with Waldur's "Token " (heed strips it),
// so staff is drawn more often than for Waldur operations; every other
// label still shows up, to be refused.
var faTokenWeights = []struct {
	label  string
	weight int
}{
	{"staff, bare", 44}, {"staff", 30}, {"staff, Bearer", 3}, {"alice, bare", 4}, {"alice", 3}, {"support", 3}, {"bob", 2},
	{"carol", 1}, {"none", 6}, {"unknown, bare", 3}, {"unknown token", 2}, {"malformed header", 1}, {"basic auth", 1},
}

// faPathID draws the {id} of a FusionAuth path: mostly an object the run
// has seen; for a create with an id ("POST /api/webhook/{id}") mostly a
// fresh one; sometimes something that is no id at all.
func (g *gen) faPathID(op *operation) string {
	if g.chance(g.hostileP + 0.05) {
		return pick(g, []string{"0", "-1", "1e3", "not-a-uuid", "00000000-0000-0000-0000-000000000000", g.randomUUID(),
			strings.ToUpper(dashed(g.randomUUID())), "\x00", strings.Repeat("a", 300), "undefined", "null", "%"})
	}
	if op.Method == "POST" && strings.HasSuffix(op.Path, "/{id}") && g.chance(0.75) {
		return dashed(g.randomUUID())
	}
	if ids := g.f.faPools[g.f.faPoolForPath(op.Path)]; len(ids) > 0 && g.chance(0.9) {
		id := pick(g, ids)
		if op.mutating() && g.f.protected[normUUID(id)] {
			// The demo users hold the run's tokens (see demoUsers).
			return dashed(g.randomUUID())
		}
		return id
	}
	return dashed(g.randomUUID())
}

// faRef draws the value of an id field ("signingKeyId", an item of
// "tenantIds"): an object of the pool its name points to, else a fresh id.
//
// A change never names a demo user: an action taken on one could lock the
// holder of a token the run relies on out (see demoUsers).
func (g *gen) faRef(stem string) string {
	ids := g.f.faPools[g.f.faPoolMatch(stem)]
	if g.op.mutating() {
		ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return g.f.protected[normUUID(id)] })
	}
	if len(ids) > 0 && g.chance(0.95) {
		return pick(g, ids)
	}
	return dashed(g.randomUUID())
}

var orderByField = regexp.MustCompile(`^[a-z][A-Za-z]*$`)

// faString draws the strings FusionAuth's objects need to be accepted and
// the document does not spell out (it names them in descriptions): URLs,
// ids, Standard Webhooks secrets, HMAC algorithms, epoch milliseconds,
// search paging and ordering. ok is false for names it has no hint for.
func (g *gen) faString(name string, s map[string]any) (string, bool) {
	desc, _ := s["description"].(string)
	switch {
	case name == "url":
		// .invalid never resolves (RFC 6761): no test reaches the network,
		// and a transactional delivery fails at once.
		return "https://" + rapid.StringOfN(slugRunes, 1, 12, -1).Draw(g.rt, "host") + ".example.invalid/" +
			rapid.StringOfN(slugRunes, 0, 12, -1).Draw(g.rt, "path"), true
	case name == "id":
		return dashed(g.randomUUID()), true
	case name == "secret":
		if g.chance(0.9) {
			b := make([]byte, 24+g.intn(24))
			for i := range b {
				b[i] = byte(g.rng.UintN(256))
			}
			return "whsec_" + base64.StdEncoding.EncodeToString(b), true
		}
	case name == "algorithm":
		if g.chance(0.9) {
			return pick(g, []string{"HS256", "HS384", "HS512"}), true
		}
		return pick(g, []string{"RS256", "ES256", "hs256"}), true
	case name == "eventType":
		return pick(g, events.Types), true
	case name == "numberOfResults" || name == "startRow":
		return strconv.Itoa(pick(g, []int{0, 1, 2, 5, 25, 100})), true
	case faEpochMillis(name, s):
		return strconv.FormatInt(g.faInstant(), 10), true
	case name == "orderBy":
		// "description, id, insertInstant or url, then ASC (default) or DESC."
		list, _, _ := strings.Cut(desc, "then")
		var fields []string
		for _, w := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '.' }) {
			if w != "or" && orderByField.MatchString(w) {
				fields = append(fields, w)
			}
		}
		if len(fields) > 0 && g.chance(0.85) {
			return pick(g, fields) + pick(g, []string{"", " ASC", " DESC", " asc"}), true
		}
	case strings.HasSuffix(strings.ToLower(name), "email"):
		return g.email(), true
	case strings.HasSuffix(name, "Ids") && len(name) > 3:
		return g.faRef(strings.TrimSuffix(name, "Ids")), true
	case strings.HasSuffix(name, "Id") && len(name) > 2:
		return g.faRef(strings.TrimSuffix(name, "Id")), true
	}
	return "", false
}

// faEpochMillis reports a FusionAuth instant: epoch milliseconds, by its
// name (insertInstant, start, end, expiry) or its description.
func faEpochMillis(name string, s map[string]any) bool {
	desc, _ := s["description"].(string)
	d := strings.ToLower(desc)
	return strings.HasSuffix(name, "Instant") || name == "start" || name == "end" || name == "expiry" ||
		strings.Contains(d, "epoch ms") || strings.Contains(d, "epoch milli")
}

// faInstant draws an instant within a month of now, either side: searches
// find what the run made, expiries lie ahead as often as not.
func (g *gen) faInstant() int64 {
	month := int64(30 * 24 * time.Hour / time.Millisecond)
	return time.Now().UnixMilli() + g.rng.Int64N(2*month) - month
}

var atMost = regexp.MustCompile(`\bat most (\d+)`)

// faInteger draws an integer for a FusionAuth property, reading what its
// description says: a "Required" one cannot be 0, which is what an absent
// one reads as, and "at most N" is a maximum.
func (g *gen) faInteger(name string, s map[string]any) int64 {
	desc, _ := s["description"].(string)
	if faEpochMillis(name, s) {
		return g.faInstant()
	}
	c := map[string]any{}
	for k, v := range s {
		c[k] = v
	}
	if lo, _ := num(c["minimum"]); strings.HasPrefix(desc, "Required") && lo < 1 {
		c["minimum"] = 1.0
	}
	if m := atMost.FindStringSubmatch(desc); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			c["maximum"] = float64(n)
		}
	}
	return g.integer(name, c)
}

// faFreeForm fills FusionAuth's maps keyed by event type
// (webhook.eventsEnabled, tenant.eventConfiguration.events) with the types
// heed emits, now and then with one it does not.
func (g *gen) faFreeForm(name string, ap map[string]any, m map[string]any, depth int) bool {
	if name != "eventsEnabled" && name != "events" {
		return false
	}
	for _, t := range events.Types {
		if g.chance(0.3) {
			m[t] = g.value(t, ap, depth+1)
		}
	}
	if g.chance(0.05) {
		m["no.such-event"] = g.value("no.such-event", ap, depth+1)
	}
	return true
}
