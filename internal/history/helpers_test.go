package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/demo"
)

// carol is the demo project member's token (apptest names the others).
const carol = "demo-carol-token"

// DRF bodies the history endpoints answer with.
const (
	msgNotProvided = `{"detail":"Authentication credentials were not provided."}`
	msgForbidden   = `{"detail":"You do not have permission to perform this action."}`
	msgNotFound    = `{"detail":"Not found."}`
	msgNoVersion   = `{"detail":"No version found before the specified timestamp."}`
)

// processWait bounds how long a test waits for River to process an order.
const processWait = 30 * time.Second

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// trackedFields are the 13 resource fields the issue says history keeps.
var trackedFields = []string{"attributes", "cost", "description", "downscaled", "end_date", "limits", "name",
	"options", "paused", "plan", "restrict_member_access", "slug", "state"}

// Both endpoint families serve the same resources and history.
const (
	consumerPrefix = "/api/marketplace-resources/"
	providerPrefix = "/api/marketplace-provider-resources/"
)

// suite lists the end-to-end checks. They share one heed per database:
// starting one loads the demo data, whose five bcrypt password hashes cost
// seconds each under -race. Every check works on objects it creates itself
// (or only reads demo objects), so they run in parallel.
var suite []struct {
	name string
	fn   func(t *testing.T, h *apptest.Harness)
}

func register(name string, fn func(t *testing.T, h *apptest.Harness)) bool {
	suite = append(suite, struct {
		name string
		fn   func(t *testing.T, h *apptest.Harness)
	}{name, fn})
	return true
}

// TestHistory runs the suite on a fresh heed (demo data, job workers) per
// database; the databases and the checks run in parallel.
func TestHistory(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		h := startDemo(t, url)
		for _, c := range suite {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				// Harness.Do fails its own T: give each check a copy bound to it.
				c.fn(t, &apptest.Harness{T: t, App: h.App, URL: h.URL, Client: h.Client})
			})
		}
	})
}

// startDemo starts heed with the demo data set, loaded by demo.Load as
// apptest does, but first creates all demo users except the first without a
// password (with their demo tokens): demo.Load skips users that exist, so it
// computes one bcrypt hash instead of five, which under -race saves about
// ten seconds of CPU per database.
func startDemo(t *testing.T, url string) *apptest.Harness {
	t.Helper()
	h := apptest.Start(t, url, apptest.Options{NoDemo: true})
	ctx := context.Background()
	for _, du := range demo.Users[1:] {
		langs := []string{"en"}
		u, err := h.App.Users.CreateUser(ctx, nil, auth.UserInput{
			Username: &du.Username, FullName: &du.FullName, Email: &du.Email,
			IsStaff: &du.Staff, IsSupport: &du.Support, PreferredLanguages: &langs,
		})
		if err != nil {
			t.Fatalf("demo user %s: %v", du.Username, err)
		}
		if err := h.App.DB.InTx(ctx, func(tx *db.Tx) error {
			return auth.StoreToken(ctx, tx, u.ID, du.Token, "demo data", time.Time{})
		}); err != nil {
			t.Fatalf("demo token for %s: %v", du.Username, err)
		}
	}
	if err := h.App.LoadDemo(ctx, false); err != nil {
		t.Fatalf("load demo data: %v", err)
	}
	return h
}

// user is a version's revision_user.
type user struct {
	UUID     string `json:"uuid"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
}

// version is one history entry as the API returns it.
type version struct {
	ID              int64          `json:"id"`
	RevisionDate    time.Time      `json:"revision_date"`
	RevisionUser    *user          `json:"revision_user"`
	RevisionComment string         `json:"revision_comment"`
	SerializedData  map[string]any `json:"serialized_data"`
	QueriedAt       *string        `json:"queried_at"`
}

func (v version) username() string {
	if v.RevisionUser == nil {
		return "<null>"
	}
	return v.RevisionUser.Username
}

// queried is queried_at, or "<absent>".
func (v version) queried() string {
	if v.QueriedAt == nil {
		return "<absent>"
	}
	return *v.QueriedAt
}

func decode[T any](t testing.TB, r *apptest.Response) T {
	t.Helper()
	var out T
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("decode %T from %s: %v", out, r.Body, err)
	}
	return out
}

// wantBody fails unless the response has the status and exactly the JSON body.
func wantBody(t testing.TB, r *apptest.Response, status int, body string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	var got, want any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatalf("bad expected body %q: %v", body, err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("body %s, want %s", gj, wj)
	}
}

// versionsOf returns every version of an object, newest first.
func versionsOf(t testing.TB, h *apptest.Harness, prefix, id string) []version {
	t.Helper()
	r := h.Do("GET", prefix+id+"/history/?page_size=300", apptest.Staff, nil).Want(t, 200)
	return decode[[]version](t, r)
}

// fixture is what a test needs to order resources in the demo data.
type fixture struct {
	project, offering, plan string
}

func demoFixture(t testing.TB, h *apptest.Harness) fixture {
	t.Helper()
	projects := h.Do("GET", "/api/projects/?name=Genomics", apptest.Staff, nil).Want(t, 200).List(t)
	if len(projects) != 1 {
		t.Fatalf("want the demo project Genomics, have %v", projects)
	}
	// The first demo plan by name: checks running beside this one add plans
	// (all named "history..."), which must not be picked up.
	var plans []map[string]any
	for _, p := range h.Do("GET", "/api/marketplace-plans/?page_size=300", apptest.Staff, nil).Want(t, 200).List(t) {
		if name, _ := p["name"].(string); !strings.HasPrefix(strings.ToLower(name), "history") {
			plans = append(plans, p)
		}
	}
	if len(plans) == 0 {
		t.Fatal("the demo data has no plans")
	}
	return fixture{project: projects[0]["uuid"].(string), offering: plans[0]["offering_uuid"].(string), plan: plans[0]["uuid"].(string)}
}

// manualFixture is demoFixture with a new offering of the demo provider
// whose orders wait for the provider's approval (staff gives it).
func manualFixture(t testing.TB, h *apptest.Harness, name string) fixture {
	t.Helper()
	fx := demoFixture(t, h)
	providers := h.Do("GET", "/api/customers/?name=Cloud+Provider", apptest.Staff, nil).Want(t, 200).List(t)
	if len(providers) != 1 {
		t.Fatalf("want the demo customer Cloud Provider, have %v", providers)
	}
	off := h.Do("POST", "/api/marketplace-provider-offerings/", apptest.Staff, map[string]any{
		"customer": providers[0]["uuid"], "name": name, "state": "Active",
		"plugin_options": map[string]any{"manual_provider_approval": true},
	}).Want(t, 201).Object(t)
	fx.offering = off["uuid"].(string)
	fx.plan = h.Do("POST", "/api/marketplace-plans/", apptest.Staff, map[string]any{
		"offering": fx.offering, "name": name + " plan", "unit_price": "1.00", "unit": "month",
	}).Want(t, 201).Object(t)["uuid"].(string)
	return fx
}

// openOrderStates are the states an order may still leave.
var openOrderStates = map[string]bool{
	"pending-consumer": true, "pending-provider": true, "pending-project": true, "pending-start-date": true, "executing": true,
}

// waitOrder reads the order until it leaves the states it may still move
// from (or reaches want), then requires want.
func waitOrder(t testing.TB, h *apptest.Harness, id, want string) map[string]any {
	t.Helper()
	var o map[string]any
	apptest.Eventually(t, processWait, "order "+id+" to reach "+want, func() bool {
		o = h.Do("GET", "/api/marketplace-orders/"+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
		st, _ := o["state"].(string)
		return st == want || !openOrderStates[st]
	})
	if o["state"] != want {
		t.Fatalf("order %s is %v, want %s: %v", id, o["state"], want, o)
	}
	return o
}

// wantAnswer fails unless the response has the status and a body that is
// exactly {key: message}.
func wantAnswer(t testing.TB, r *apptest.Response, status int, key, message string) {
	t.Helper()
	wantBody(t, r, status, fmt.Sprintf("{%q: %q}", key, message))
}

// orderUUIDOf requires a renew's or terminate's answer, exactly
// {"order_uuid": "<32 hex>"}, and returns the uuid.
func orderUUIDOf(t testing.TB, r *apptest.Response) string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d, want 200; body: %s", r.Status, r.Body)
	}
	m := r.Object(t)
	id, _ := m["order_uuid"].(string)
	if len(m) != 1 || !hex32.MatchString(id) {
		t.Fatalf(`body %s, want exactly {"order_uuid": "<32 hex>"}`, r.Body)
	}
	return id
}

// order places a Create order as token and returns the order's and the new
// resource's uuids.
func order(t testing.TB, h *apptest.Harness, fx fixture, token, name string) (orderUUID, resourceUUID string) {
	t.Helper()
	o := h.Do("POST", "/api/marketplace-orders/", token, map[string]any{
		"project": fx.project, "offering": fx.offering, "plan": fx.plan,
		"attributes": map[string]any{"name": name}, "limits": map[string]any{"cpu_hours": 100},
	}).Want(t, 201).Object(t)
	ru, _ := o["marketplace_resource_uuid"].(string)
	ou, _ := o["uuid"].(string)
	if !hex32.MatchString(ru) || !hex32.MatchString(ou) {
		t.Fatalf("order has no 32-hex uuid or resource uuid: %v", o)
	}
	return o["uuid"].(string), ru
}

// waitState waits for River to bring the resource to state.
func waitState(t testing.TB, h *apptest.Harness, id, state string) map[string]any {
	t.Helper()
	var last map[string]any
	apptest.Eventually(t, processWait, "resource "+id+" to become "+state, func() bool {
		last = h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
		return last["state"] == state
	})
	return last
}

// okResource orders a resource as alice (who may approve, so the order runs
// at once) and waits until it is OK.
func okResource(t testing.TB, h *apptest.Harness, fx fixture, name string) (orderUUID, resourceUUID string) {
	t.Helper()
	orderUUID, resourceUUID = order(t, h, fx, apptest.Alice, name)
	waitState(t, h, resourceUUID, "OK")
	return orderUUID, resourceUUID
}

// liveSnapshot renders a resource from the API as history serializes it.
func liveSnapshot(r map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range trackedFields {
		if f == "plan" {
			out[f] = r["plan_uuid"]
			continue
		}
		out[f] = r[f]
	}
	return out
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ids(vs []version) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// stamp renders an instant as a query parameter value.
func stamp(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339Nano)) }

// newVersions returns the versions in after that are not in before, oldest
// first.
func newVersions(before, after []version) []version {
	var out []version
	for _, v := range after {
		if !slices.ContainsFunc(before, func(b version) bool { return b.ID == v.ID }) {
			out = append(out, v)
		}
	}
	slices.Reverse(out)
	return out
}

type change struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

type diff struct {
	Version    int64    `json:"version"`
	ComparedTo *int64   `json:"compared_to"`
	Changes    []change `json:"changes"`
}

func (d diff) fields() []string {
	out := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		out[i] = c.Field
	}
	return out
}

func getDiff(t testing.TB, h *apptest.Harness, prefix, id string, v int64, query string) diff {
	t.Helper()
	return decode[diff](t, h.Do("GET", fmt.Sprintf("%s%s/history/%d/diff/%s", prefix, id, v, query), apptest.Staff, nil).Want(t, 200))
}
