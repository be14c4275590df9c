package apifuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/heed-dev/heed/internal/apptest"
)

var (
	flagN    = flag.Int("apifuzz.n", 0, "requests per database (default $HEED_FUZZ_REQUESTS, else 3000)")
	flagSeed = flag.Uint64("apifuzz.seed", 0, "seed (default $HEED_FUZZ_SEED, else 1)")
	flagOps  = flag.String("apifuzz.ops", "", `regular expression over "METHOD /path" choosing operations (default $HEED_FUZZ_OPS, else all)`)
)

// defaultRequests keeps the CI run near a minute per database under -race
// on two cores.
const defaultRequests = 3000

type settings struct {
	n       int
	seed    uint64
	ops     *regexp.Regexp
	maxTime time.Duration // per database; the run stops early past it
}

func readSettings(t *testing.T) settings {
	s := settings{n: defaultRequests, seed: 1, maxTime: 90 * time.Second}
	if v := os.Getenv("HEED_FUZZ_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("HEED_FUZZ_REQUESTS=%q: want a count", v)
		}
		s.n, s.maxTime = n, 0
	}
	if *flagN > 0 {
		s.n, s.maxTime = *flagN, 0
	}
	if v := os.Getenv("HEED_FUZZ_MAX_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("HEED_FUZZ_MAX_TIME=%q: want a duration", v)
		}
		s.maxTime = d
	}
	if v := os.Getenv("HEED_FUZZ_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HEED_FUZZ_SEED=%q: want an unsigned integer", v)
		}
		s.seed = seed
	}
	if *flagSeed > 0 {
		s.seed = *flagSeed
	}
	expr := os.Getenv("HEED_FUZZ_OPS")
	if *flagOps != "" {
		expr = *flagOps
	}
	if expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("operations filter %q: %v", expr, err)
		}
		s.ops = re
	}
	return s
}

// TestAPIFuzz sends generated requests to every operation of the OpenAPI
// document, on each database, and checks every response.
//
// Job workers stay stopped, so nothing but the requests changes the
// database and a fingerprint taken after one request is the state the
// next one starts from.
func TestAPIFuzz(t *testing.T) {
	s := readSettings(t)
	t.Logf("seed %d (HEED_FUZZ_SEED), %d requests per database (HEED_FUZZ_REQUESTS)", s.seed, s.n)
	apptest.Each(t, apptest.Options{NoWork: true}, func(t *testing.T, h *apptest.Harness) {
		f := newFuzzer(t, h, s)
		f.discover()
		f.run(s.n, s.maxTime)
		f.report()
	})
}

type fuzzer struct {
	t      *testing.T
	h      *apptest.Harness
	client *http.Client
	doc    *document
	ops    []*operation
	weight []int
	seed   uint64
	base   string
	dbName string

	// What the generator draws real values from.
	pools       map[string][]string          // collection path → uuids (32 hex)
	names       map[string]string            // uuid → "customers: Alice Research", for reports
	refs        map[string]map[string]string // uuid → its references (offering_uuid → …)
	versions    map[string][]string          // object uuid → version ids
	ids         map[string][]string          // collection path → ids of objects known by id
	faPools     map[string][]string          // FusionAuth object name ("webhook") → ids, as sent
	allVersions []string
	usernames   []string
	emails      []string
	objectNames []string
	protected   map[string]bool // uuids of the users whose tokens the run uses
	fieldNames  []string
	// objectFields lists the properties of each collection's objects.
	objectFields map[string][]string

	fp   *fingerprinter
	snap snapshot

	sent, setupSent, minimiseSent int
	hist                          map[int]int
	opSent, op2xx                 map[string]int
	groups                        map[string]*group
	groupOrder                    []string
	minimised                     int
	stoppedEarly                  string
	sendTime, fingerprintTime     time.Duration
	trace                         io.Writer // HEED_FUZZ_TRACE: every exchange, one line each
	recent                        []string  // the last successful changes, for state-dependent failures
	opsFilter                     string
}

func newFuzzer(t *testing.T, h *apptest.Harness, s settings) *fuzzer {
	f := &fuzzer{
		t: t, h: h, seed: s.seed, base: h.URL, dbName: string(h.App.DB.Dialect()),
		client: &http.Client{
			Transport: h.Client.Transport,
			// A redirect is a response like any other: it must be declared.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		pools: map[string][]string{}, names: map[string]string{}, refs: map[string]map[string]string{}, versions: map[string][]string{}, ids: map[string][]string{}, faPools: map[string][]string{},
		protected: map[string]bool{}, hist: map[int]int{}, opSent: map[string]int{}, op2xx: map[string]int{},
		groups: map[string]*group{},
	}
	res, err := f.client.Get(h.URL + "/api/schema/")
	if err != nil {
		t.Fatalf("fetch document: %v", err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/schema/: %d %s", res.StatusCode, raw)
	}
	f.doc = &document{}
	if err := json.Unmarshal(raw, f.doc); err != nil {
		t.Fatalf("document does not decode: %v", err)
	}
	all, err := f.doc.operations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range faFamilyMismatches(all) {
		t.Errorf("family of an operation: %s", m)
	}
	if s.ops != nil {
		f.opsFilter = s.ops.String()
	}
	for _, op := range all {
		if s.ops == nil || s.ops.MatchString(op.Key) {
			f.ops = append(f.ops, op)
		}
	}
	if len(f.ops) == 0 {
		t.Fatalf("no operation matches %v", s.ops)
	}
	for _, op := range f.ops {
		w := 1 + len(op.Params)
		if op.Body != nil {
			props, _ := f.doc.resolve(op.Body)["properties"].(map[string]any)
			w += 1 + len(props)
		}
		if op.mutating() {
			w += 2
		}
		f.weight = append(f.weight, w)
	}
	f.fieldNames = f.doc.propertyNames()
	f.objectFields = map[string][]string{}
	for _, op := range all {
		if op.Method != "GET" || !strings.HasSuffix(op.Path, "/{uuid}/") || op.Responses["200"] == nil {
			continue
		}
		s := f.doc.resolve(op.Responses["200"].Content["application/json"].Schema)
		if props, ok := s["properties"].(map[string]any); ok {
			f.objectFields[f.collectionOf(op.Path)] = sortedKeys(props)
		}
	}
	if f.fp, err = newFingerprinter(context.Background(), h.App.DB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.fp.close)
	if path := os.Getenv("HEED_FUZZ_TRACE"); path != "" {
		w, err := os.Create(strings.ReplaceAll(path, "{db}", f.dbName))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		f.trace = w
	}
	if f.snap, err = f.fp.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// collectionOf is the list path an operation's {uuid} belongs to:
// /api/customers/{uuid}/history/ → /api/customers/.
func (f *fuzzer) collectionOf(path string) string {
	if i := strings.Index(path, "{"); i > 0 {
		return path[:i]
	}
	return path
}

// poolFor maps a field's kind ("customer") to the collection holding such
// objects (/api/customers/).
func (f *fuzzer) poolFor(kind string) string {
	var keys []string
	for k := range f.pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		seg := strings.Trim(k, "/")
		seg = seg[strings.LastIndexAny(seg, "/-")+1:]
		if strings.TrimSuffix(seg, "s") == kind {
			return k
		}
	}
	return "/api/" + kind + "s/"
}

func (f *fuzzer) allUUIDs() []string {
	var keys []string
	for k := range f.pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, f.pools[k]...)
	}
	return out
}

// discover fills the pools from the list endpoints (as staff), creates two
// users that the run may change freely, and collects version ids.
func (f *fuzzer) discover() {
	for _, op := range f.ops {
		if op.Method != "GET" || strings.Contains(op.Path, "{") {
			continue
		}
		if op.FA {
			// FusionAuth lists ({"webhooks": [...]}) and searches feed
			// the pools through harvest.
			if !slices.ContainsFunc(op.Params, func(p param) bool { return p.Required }) {
				f.exec(f.setupRequest(op, nil))
			}
			continue
		}
		ok := op.Responses["200"]
		if ok == nil {
			continue
		}
		s := f.doc.resolve(ok.Content["application/json"].Schema)
		items, _ := s["items"].(map[string]any)
		props, _ := f.doc.resolve(items)["properties"].(map[string]any)
		if props["uuid"] == nil && props["id"] == nil {
			continue
		}
		r := f.setupRequest(op, nil)
		r.query = []queryParam{{"page_size", "300"}}
		res := f.exec(r)
		var list []map[string]any
		if json.Unmarshal(res.body, &list) != nil {
			continue
		}
		for _, obj := range list {
			f.remember(op.Path, obj)
		}
	}
	users := f.poolFor("user")
	for _, u := range f.pools[users] {
		if slices.Contains(demoUsers, strings.TrimPrefix(f.names[u], "users: ")) {
			f.protected[u] = true
		}
	}
	if create := f.find("POST", users); create != nil {
		for i := 1; i <= 2; i++ {
			before := f.snap
			r := f.setupRequest(create, map[string]any{
				"username": fmt.Sprintf("fuzz-target-%d", i), "full_name": "Fuzz Target", "email": fmt.Sprintf("fuzz-%d@example.com", i),
			})
			// The fingerprint must see a write, or every "changed
			// nothing" below would be vacuous.
			if res := f.exec(r); res.status == http.StatusCreated && f.snap.sum == before.sum {
				f.t.Fatalf("the database fingerprint did not change when a user was created")
			}
		}
	}
	// One database behind both families: a Waldur user is the FusionAuth
	// user with the same id, dashed.
	for _, u := range f.pools[users] {
		f.faAdd("user", dashed(u))
	}
	var keys []string
	for k := range f.pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hist := f.find("GET", k+"{uuid}/history/")
		if hist == nil {
			continue
		}
		for i, u := range f.pools[k] {
			if i == 4 {
				break
			}
			r := f.setupRequest(hist, nil)
			r.pathVals["uuid"] = u
			r.query = []queryParam{{"page_size", "300"}}
			f.exec(r)
		}
	}
	f.t.Logf("%s: pools: %s; FusionAuth pools: %s; %d version ids; %d demo users protected", f.dbName, f.poolSizes(),
		f.faPoolSizes(), len(f.allVersions), len(f.protected))
}

func (f *fuzzer) faPoolSizes() string {
	var parts []string
	for _, k := range sortedKeys(f.faPools) {
		parts = append(parts, fmt.Sprintf("%s %d", k, len(f.faPools[k])))
	}
	return strings.Join(parts, ", ")
}

func (f *fuzzer) poolSizes() string {
	var parts []string
	for k, v := range f.pools {
		parts = append(parts, fmt.Sprintf("%s %d", k, len(v)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (f *fuzzer) find(method, path string) *operation {
	for _, op := range f.ops {
		if op.Method == method && op.Path == path {
			return op
		}
	}
	return nil
}

func (f *fuzzer) setupRequest(op *operation, body any) *request {
	r := &request{op: op, index: -2, pathVals: map[string]string{}, token: "staff"}
	if body != nil {
		r.hasBody, r.body, r.ctype = true, body, "application/json"
	}
	return r
}

// remember adds an object seen in a response to the pools.
func (f *fuzzer) remember(collection string, obj map[string]any) {
	if id, ok := obj["id"].(float64); ok && len(f.ids[collection]) < 200 {
		s := strconv.FormatInt(int64(id), 10)
		if !slices.Contains(f.ids[collection], s) {
			f.ids[collection] = append(f.ids[collection], s)
		}
	}
	u, _ := obj["uuid"].(string)
	if u == "" || len(f.pools[collection]) >= 200 {
		return
	}
	u = normUUID(u)
	if slices.Contains(f.pools[collection], u) {
		return
	}
	f.pools[collection] = append(f.pools[collection], u)
	for k, v := range obj {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_uuid") && s != "" {
			if f.refs[u] == nil {
				f.refs[u] = map[string]string{}
			}
			f.refs[u][k] = normUUID(s)
		}
	}
	label := ""
	for _, k := range []string{"username", "name"} {
		if s, ok := obj[k].(string); ok && s != "" {
			label = s
			if k == "username" {
				f.usernames = append(f.usernames, s)
			} else {
				f.objectNames = append(f.objectNames, s)
			}
			break
		}
	}
	if e, ok := obj["email"].(string); ok && e != "" {
		f.emails = append(f.emails, e)
	}
	if f.names[u] != "" {
		return
	}
	f.names[u] = strings.Trim(collection[strings.LastIndex(strings.TrimSuffix(collection, "/"), "/")+1:], "/") + ": " + label
}

// pickOp chooses the operation for request i: every operation once, in
// order, then by weight (operations with more inputs more often).
func (f *fuzzer) pickOp(i int) *operation {
	if i < len(f.ops) {
		return f.ops[i]
	}
	total := 0
	for _, w := range f.weight {
		total += w
	}
	n := rand.New(rand.NewPCG(f.seed, uint64(i)^0x9e3779b97f4a7c15)).IntN(total)
	for j, w := range f.weight {
		if n < w {
			return f.ops[j]
		}
		n -= w
	}
	return f.ops[len(f.ops)-1]
}

// generate draws request i. It depends only on the seed, i and the pools,
// so a run with the same seed sends the same requests.
func (f *fuzzer) generate(op *operation, i int) *request {
	gen := rapid.Custom(func(rt *rapid.T) *request {
		g := &gen{f: f, rt: rt, rng: rand.New(rand.NewPCG(f.seed, uint64(i)))}
		return g.request(op, i)
	})
	return gen.Example(int(f.seed<<24) + i)
}

// run sends n generated requests, stopping early (and saying so) past
// maxTime or near the test binary's deadline, so that a slow machine
// shortens the run instead of failing it.
func (f *fuzzer) run(n int, maxTime time.Duration) {
	consecutiveErrs := 0
	start := time.Now()
	for i := range n {
		if d, ok := f.t.Deadline(); ok && time.Until(d) < 90*time.Second {
			f.stoppedEarly = fmt.Sprintf("stopped after %d of %d requests: the test deadline is near", i, n)
			break
		}
		if maxTime > 0 && time.Since(start) > maxTime {
			f.stoppedEarly = fmt.Sprintf("stopped after %d of %d requests: HEED_FUZZ_MAX_TIME (%s) passed", i, n, maxTime)
			break
		}
		res := f.exec(f.generate(f.pickOp(i), i))
		if res.err != nil {
			consecutiveErrs++
			if consecutiveErrs == 20 {
				f.stoppedEarly = fmt.Sprintf("stopped after %d requests: 20 in a row got no response (%v)", i+1, res.err)
				break
			}
		} else {
			consecutiveErrs = 0
		}
	}
}

// result is a response as received.
type result struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (f *fuzzer) send(r *request) *result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var body io.Reader
	if b := r.bodyBytes(); b != nil {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.op.Method, f.base+r.target(), body)
	if err != nil {
		return &result{err: err}
	}
	if h := tokens[r.token]; h != "" {
		req.Header.Set("Authorization", h)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return &result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return &result{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// exec sends r, fingerprints the database, checks the response and
// records what it found.
func (f *fuzzer) exec(r *request) *result {
	res, problems := f.attempt(r)
	switch r.index {
	case -2:
		f.setupSent++
	default:
		f.sent++
		f.hist[res.status]++
		f.opSent[r.op.Key]++
		if res.status/100 == 2 {
			f.op2xx[r.op.Key]++
		}
	}
	for _, p := range problems {
		f.record(r, res, p)
	}
	return res
}

// attempt sends r and returns what is wrong with the outcome.
func (f *fuzzer) attempt(r *request) (*result, []problem) {
	before := f.snap
	start := time.Now()
	res := f.send(r)
	sent := time.Now()
	after, err := f.fp.take(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	f.sendTime += sent.Sub(start)
	f.fingerprintTime += time.Since(sent)
	f.snap = after
	f.harvest(r, res)
	if res.err == nil && res.status/100 == 2 && r.op.mutating() {
		f.recent = append(f.recent, fmt.Sprintf("#%d %s %s [%s] %s → %d", r.index, r.op.Method, r.target(), r.token,
			cut(showBytes(r.bodyBytes()), 300), res.status))
		if len(f.recent) > 5 {
			f.recent = f.recent[1:]
		}
	}
	if f.trace != nil {
		fmt.Fprintf(f.trace, "#%d %s %s %s [%s] body=%s → %d %s\n", r.index, r.op.Method, r.target(), r.op.Key, r.token,
			cut(showBytes(r.bodyBytes()), 300), res.status, cut(showBytes(bytes.TrimSpace(res.body)), 200))
	}
	return res, f.check(r, res, before, after)
}

// harvest feeds objects and versions from successful responses back into
// the pools, so later requests can hit them.
func (f *fuzzer) harvest(r *request, res *result) {
	if res.err != nil || res.status/100 != 2 || r.op.Method == "HEAD" {
		return
	}
	var v any
	if json.Unmarshal(res.body, &v) != nil {
		return
	}
	if r.op.FA {
		f.faHarvest("", v)
		return
	}
	if m, ok := v.(map[string]any); ok {
		if r.op.Method == "POST" && !strings.Contains(r.op.Path, "{") && res.status == http.StatusCreated {
			f.remember(r.op.Path, m)
		}
		if u, ok := m["order_uuid"].(string); ok {
			f.remember(f.poolFor("order"), map[string]any{"uuid": u})
		}
	}
	if l, ok := v.([]any); ok && r.op.Method == "GET" && !strings.Contains(r.op.Path, "{") {
		// Lists: objects that appeared since discovery (user actions
		// after a recompute, for one) become targets too.
		for _, x := range l {
			if m, ok := x.(map[string]any); ok {
				f.remember(r.op.Path, m)
			}
		}
	}
	if l, ok := v.([]any); ok && r.op.Method == "GET" && strings.HasSuffix(r.op.Path, "/{uuid}/history/") {
		u := normUUID(r.pathVals["uuid"])
		for _, x := range l {
			m, _ := x.(map[string]any)
			id, ok := m["id"].(float64)
			if !ok {
				continue
			}
			s := strconv.FormatInt(int64(id), 10)
			if !slices.Contains(f.versions[u], s) {
				f.versions[u] = append(f.versions[u], s)
				f.allVersions = append(f.allVersions, s)
			}
		}
	}
}

// problem is one broken promise in one response.
type problem struct {
	kind   string // what was broken
	norm   string // what distinguishes it within the operation (values stripped)
	detail string
}

var (
	quoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	indexes = regexp.MustCompile(`\[\d+\]`)
	numbers = regexp.MustCompile(`\b\d+\b`)
)

func normalise(s string) string {
	s = quoted.ReplaceAllString(s, `"…"`)
	s = indexes.ReplaceAllString(s, "[]")
	s = strings.ReplaceAll(s, "UTF-8", "UTF\x01")
	s = numbers.ReplaceAllString(s, "N")
	return strings.ReplaceAll(s, "UTF\x01", "UTF-8")
}

// check compares a response with the promises: no 5xx, a declared status,
// DRF-shaped 4xx bodies (FusionAuth-shaped on that family's operations),
// bodies and headers as the document declares them, error keys that name
// an input, and a database untouched by a rejected request or a read.
func (f *fuzzer) check(r *request, res *result, before, after snapshot) []problem {
	if res.err != nil {
		msg := res.err.Error()
		return []problem{{"no response", normalise(strings.TrimPrefix(msg, r.op.Method+" ")), msg}}
	}
	st := res.status
	if st >= 500 && !vetoed(r.op, res) {
		return []problem{{"5xx", "", fmt.Sprintf("%d", st)}}
	}
	var ps []problem
	declared := r.op.Responses[strconv.Itoa(st)]
	if declared == nil {
		ps = append(ps, problem{"undeclared status", "", fmt.Sprintf("%d is not among the declared %v", st, sortedKeys(r.op.Responses))})
	}
	rejected := st >= 400 && st < 500
	switch {
	case rejected && r.op.FA && r.op.Method != "HEAD":
		if why := faShape(st, res.header, res.body); why != "" {
			ps = append(ps, problem{"4xx body is not FusionAuth-shaped", normalise(why), why})
		}
	case rejected && r.op.Method != "HEAD":
		if why := drfShape(res.body); why != "" {
			ps = append(ps, problem{"4xx body is not DRF-shaped", normalise(why), why})
		}
	}
	if declared != nil {
		ps = append(ps, f.conform(r, res, declared)...)
	}
	if st == http.StatusBadRequest && r.op.FA {
		for _, k := range faFieldErrorKeys(res.body) {
			if !f.doc.knownFAErrorKey(r.op, k) && !r.sentFAPath(k) && !f.doc.dottedKeyMisplaced(r.op, r, k) {
				ps = append(ps, problem{"error key names no input", normalise(k), fmt.Sprintf("field %q is neither a parameter, a body path nor the object's id", k)})
			}
		}
	} else if st == http.StatusBadRequest && r.op.Method != "HEAD" {
		for _, k := range fieldErrorKeys(res.body) {
			if !f.doc.knownErrorKey(r.op, k) && !r.sent(k) {
				ps = append(ps, problem{"error key names no input", k, fmt.Sprintf("key %q is neither a parameter nor a body property", k)})
			}
		}
	}
	if st/100 == 2 {
		seen := map[string]bool{}
		for _, v := range f.doc.requestViolations(r) {
			if n := normalise(v); !seen[n] {
				seen[n] = true
				ps = append(ps, problem{"accepted a request the document forbids", n, v})
			}
		}
	}
	if before.sum != after.sum {
		switch {
		case rejected:
			ps = append(ps, problem{"rejected request changed the database", "", strings.Join(before.changed(after), ", ")})
		case !r.op.mutating():
			ps = append(ps, problem{"read changed the database", "", strings.Join(before.changed(after), ", ")})
		}
	}
	return ps
}

// conform checks a response against the declared one.
func (f *fuzzer) conform(r *request, res *result, declared *response) []problem {
	var ps []problem
	for name := range declared.Headers {
		if _, ok := res.header[http.CanonicalHeaderKey(name)]; !ok {
			ps = append(ps, problem{"declared header missing", name, name})
		}
	}
	switch {
	// FusionAuth's 401 is bare (fusionauth-compat.md §1): no challenge.
	case res.status == http.StatusUnauthorized && !r.op.FA && res.header.Get("WWW-Authenticate") == "":
		ps = append(ps, problem{"declared header missing", "WWW-Authenticate", "401 without WWW-Authenticate"})
	case res.status == http.StatusTooManyRequests && res.header.Get("Retry-After") == "":
		ps = append(ps, problem{"declared header missing", "Retry-After", "429 without Retry-After"})
	}
	if r.op.Method == "HEAD" || res.status == http.StatusNoContent {
		if len(res.body) != 0 {
			ps = append(ps, problem{"body where none is allowed", "", fmt.Sprintf("%d bytes", len(res.body))})
		}
		return ps
	}
	media, ok := declared.Content["application/json"]
	if !ok || media.Schema == nil {
		if len(res.body) != 0 {
			ps = append(ps, problem{"body the document does not declare", "", fmt.Sprintf("%d bytes", len(res.body))})
		}
		return ps
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		ps = append(ps, problem{"Content-Type is not application/json", ct, ct})
	}
	var v any
	if err := json.Unmarshal(res.body, &v); err != nil {
		return append(ps, problem{"body is not JSON", "", err.Error()})
	}
	seen := map[string]bool{}
	for _, e := range f.doc.validate("body", media.Schema, v) {
		n := normalise(e)
		if !seen[n] {
			seen[n] = true
			ps = append(ps, problem{"response does not match the document", n, e})
		}
	}
	if m, ok := v.(map[string]any); ok && m["$schema"] != nil {
		ps = append(ps, problem{"response does not match the document", "$schema property", "body has a $schema property"})
	}
	return ps
}

// opsEnv repeats the operations filter for a replay command.
func (f *fuzzer) opsEnv() string {
	if f.opsFilter == "" {
		return ""
	}
	return " HEED_FUZZ_OPS=" + shellQuote(f.opsFilter)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
