package history_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// call is one HTTP request made off the test goroutine (Harness.Do may not
// be: it fails the test).
type call struct {
	method, path, token string
	body                any
}

type outcome struct {
	call
	status int
	body   string
	err    error
}

// concurrently sends every call at once, released together, and returns
// their outcomes in call order.
func concurrently(h *apptest.Harness, calls []call) []outcome {
	out := make([]outcome, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].call = c
			b, _ := json.Marshal(c.body)
			req, err := http.NewRequest(c.method, h.URL+c.path, bytes.NewReader(b))
			if err != nil {
				out[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Token "+c.token)
			<-start
			resp, err := h.Client.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			out[i].status, out[i].body, out[i].err = resp.StatusCode, string(body), err
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func addDays(t testing.TB, date string, n int) string {
	t.Helper()
	d, err := time.Parse(marketplace.DateLayout, date)
	if err != nil {
		t.Fatalf("bad date %q: %v", date, err)
	}
	return d.AddDate(0, 0, n).Format(marketplace.DateLayout)
}

// inFlight matches the refusal of an order for a resource that has one in
// flight: {"detail": "Resource already has an order in progress: <order>."}.
var inFlight = regexp.MustCompile(`^\{"detail":"Resource already has an order in progress: [0-9a-f]{32}\."\}\s*$`)

// jsonEq reports whether two JSON texts hold the same value.
func jsonEq(a, b string) bool {
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && sameJSON(va, vb)
}

// expectedFields says which fields a version should change against the one
// before it, by its comment; nil means an unexpected version.
func expectedFields(v version) []string {
	c := v.RevisionComment
	switch {
	case strings.HasPrefix(c, "State changed to Updating by order "):
		return []string{"state"}
	case strings.HasPrefix(c, "Resource updated by order "):
		return []string{"end_date", "state"}
	case strings.HasPrefix(c, "Slug changed to "):
		return []string{"slug"}
	case c == "Resource updated":
		return []string{"description"}
	}
	return nil
}

// checkChain verifies that versions (oldest first) form one chain, each
// diffed against the one before it and changing exactly the fields its
// kind changes (expectedFields), ending in the live state: nothing was lost
// or computed against a stale row.
func checkChain(t *testing.T, h *apptest.Harness, id string, prev version, vs []version) {
	t.Helper()
	for _, v := range vs {
		want := expectedFields(v)
		if want == nil {
			t.Errorf("unexpected version %d %q", v.ID, v.RevisionComment)
		} else {
			checkVersion(t, h, id, v, prev, v.RevisionComment, v.username(), want...)
		}
		prev = v
	}
	live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	newest := versionsOf(t, h, consumerPrefix, id)[0]
	if newest.ID != prev.ID || !sameJSON(newest.SerializedData, liveSnapshot(live)) {
		t.Errorf("newest version %d %v; live resource %v", newest.ID, newest.SerializedData, liveSnapshot(live))
	}
}

// renewals sorts concurrent renew outcomes: the orders of those accepted
// (200, exactly {"order_uuid"}), in call order; every other outcome must be
// a 400 refusing a second order in flight.
func renewals(t *testing.T, outs []outcome) []string {
	t.Helper()
	var accepted []string
	for _, o := range outs {
		switch {
		case o.err != nil:
			t.Errorf("renew: %v", o.err)
		case o.status == 200:
			var m map[string]any
			id := ""
			if json.Unmarshal([]byte(o.body), &m) == nil && len(m) == 1 {
				id, _ = m["order_uuid"].(string)
			}
			if !hex32.MatchString(id) {
				t.Errorf(`renew: 200 %s, want exactly {"order_uuid": "<32 hex>"}`, o.body)
				continue
			}
			accepted = append(accepted, id)
		case o.status == 400 && inFlight.MatchString(o.body):
		default:
			t.Errorf("renew: %d %s, want 200 or a 400 refusing a second order in flight", o.status, o.body)
		}
	}
	return accepted
}

// checkRenewalPairs checks versions made only by renewals of initial by
// one day each, oldest first: pairs of "Updating by order X" (by user) and
// "updated by order X" (by the system, the end date one day later than the
// pair before), for each order of accepted exactly once.
func checkRenewalPairs(t *testing.T, fresh []version, accepted []string, initial, user string) {
	t.Helper()
	if len(fresh) != 2*len(accepted) {
		t.Fatalf("%d accepted renewals made %d versions, want two each: %+v", len(accepted), len(fresh), fresh)
	}
	seen := map[string]bool{}
	for i := 0; i < len(fresh); i += 2 {
		up, done := fresh[i], fresh[i+1]
		order := strings.TrimPrefix(up.RevisionComment, "State changed to Updating by order ")
		if !slices.Contains(accepted, order) || seen[order] {
			t.Errorf("version #%d %q: not the first version of an accepted renewal %v", i, up.RevisionComment, accepted)
		}
		seen[order] = true
		if up.username() != user || up.SerializedData["state"] != "Updating" || up.SerializedData["end_date"] != addDays(t, initial, i/2) {
			t.Errorf("version #%d %q by %s: state %v, end_date %v; want by %s, Updating, %s",
				i, up.RevisionComment, up.username(), up.SerializedData["state"], up.SerializedData["end_date"], user, addDays(t, initial, i/2))
		}
		// One order in flight: its completion comes next, before any
		// other renewal starts.
		want := addDays(t, initial, i/2+1)
		if done.RevisionComment != "Resource updated by order "+order || done.RevisionUser != nil ||
			done.SerializedData["state"] != "OK" || done.SerializedData["end_date"] != want {
			t.Errorf("version #%d in commit order: %q by %s, state %v, end_date %v; want \"Resource updated by order %s\" by <null>, OK, %s (strictly one day more each)",
				i+1, done.RevisionComment, done.username(), done.SerializedData["state"], done.SerializedData["end_date"], order, want)
		}
	}
}

// Renewals are orders, one in flight per resource. Concurrent renewals on
// an offering that processes orders at once: each is either accepted or
// refused because another is in flight, and every accepted one moves the
// end date by exactly its day when it completes (a lost update would show
// as a date short of initial + accepted, or two renewals computed from the
// same end date). Then renewals one after another, each waited for: each
// advances the date by exactly its extension, in exactly two versions.
var _ = register("ConcurrentRenewsLoseNothing", func(t *testing.T, h *apptest.Harness) {
	const n = 16
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-renew-race")
	// A known end date in the future: each renewal adds to it.
	initial := addDays(t, time.Now().UTC().Format(marketplace.DateLayout), 30)
	edit(t, h, id, map[string]any{"end_date": initial})
	before := versionsOf(t, h, consumerPrefix, id)

	calls := make([]call, n)
	for i := range calls {
		calls[i] = call{"POST", consumerPrefix + id + "/renew/", apptest.Alice, map[string]any{"extension_days": 1}}
	}
	accepted := renewals(t, concurrently(h, calls))
	if len(accepted) == 0 {
		t.Fatal("no renewal was accepted")
	}
	for _, o := range accepted {
		waitOrder(t, h, o, "done")
	}
	live := waitState(t, h, id, "OK")
	if want := addDays(t, initial, len(accepted)); live["end_date"] != want {
		t.Errorf("after %d accepted renewals of %s by one day: end_date %v, want %s (lost update)", len(accepted), initial, live["end_date"], want)
	}
	if got := orderCount(t, h, id, "Update"); got != len(accepted) {
		t.Errorf("%d Update orders for the resource, want the %d accepted", got, len(accepted))
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	checkRenewalPairs(t, fresh, accepted, initial, "alice")
	checkChain(t, h, id, before[0], fresh)

	// One after another: each waits for the last to complete.
	end := addDays(t, initial, len(accepted))
	for i := 1; i <= 5; i++ {
		before := versionsOf(t, h, consumerPrefix, id)
		o := orderUUIDOf(t, h.Do("POST", consumerPrefix+id+"/renew/", apptest.Alice, map[string]any{"extension_days": i}))
		waitOrder(t, h, o, "done")
		live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
		want := addDays(t, end, i)
		if live["end_date"] != want || live["state"] != "OK" {
			t.Errorf("renewal #%d by %d days of %s: end_date %v, state %v; want %s, OK", i, i, end, live["end_date"], live["state"], want)
		}
		fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
		if len(fresh) != 2 {
			t.Fatalf("renewal #%d: %d versions, want 2: %+v", i, len(fresh), fresh)
		}
		checkVersion(t, h, id, fresh[0], before[0], "State changed to Updating by order "+o, "alice", "state")
		checkVersion(t, h, id, fresh[1], fresh[0], "Resource updated by order "+o, "<null>", "end_date", "state")
		if fresh[0].SerializedData["end_date"] != end || fresh[1].SerializedData["end_date"] != want {
			t.Errorf("renewal #%d: versions have end_date %v then %v, want %s then %s",
				i, fresh[0].SerializedData["end_date"], fresh[1].SerializedData["end_date"], end, want)
		}
		if !sameJSON(fresh[1].SerializedData, liveSnapshot(live)) {
			t.Errorf("renewal #%d: newest version %v, live %v", i, fresh[1].SerializedData, liveSnapshot(live))
		}
		end = want
	}
})

// On an offering whose orders wait for the provider, a renewal stays in
// flight until approved: of concurrent renewals exactly one is accepted,
// the others are refused naming the order in progress, and nothing but
// that one pending order exists. Without the row lock the renewals take,
// two could both see no order in flight and both be placed.
var _ = register("ConcurrentRenewsOneInFlight", func(t *testing.T, h *apptest.Harness) {
	const n = 16
	fx := manualFixture(t, h, "history-manual-renewals")
	orderUUID, id := order(t, h, fx, apptest.Alice, "history-renew-in-flight")
	if o := waitOrder(t, h, orderUUID, "pending-provider"); o["consumer_reviewed_by_username"] != "alice" {
		t.Fatalf("alice's order was not consumer-approved at once: %v", o)
	}
	wantAnswer(t, h.Do("POST", "/api/marketplace-orders/"+orderUUID+"/approve_by_provider/", apptest.Staff, nil), 200, "detail", "Order has been approved.")
	waitState(t, h, id, "OK")
	initial := addDays(t, time.Now().UTC().Format(marketplace.DateLayout), 30)
	edit(t, h, id, map[string]any{"end_date": initial})
	before := versionsOf(t, h, consumerPrefix, id)
	resource := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Body

	calls := make([]call, n)
	for i := range calls {
		calls[i] = call{"POST", consumerPrefix + id + "/renew/", apptest.Alice, map[string]any{"extension_days": 1}}
	}
	outs := concurrently(h, calls)
	accepted := renewals(t, outs)
	if len(accepted) != 1 {
		t.Fatalf("%d renewals accepted, want exactly 1 (one order in flight per resource): %v", len(accepted), accepted)
	}
	for _, o := range outs {
		if o.status == 400 && !inFlight.MatchString(o.body) {
			t.Errorf("renew while an order is pending: 400 %s, want %s", o.body, inFlight)
		}
	}
	renewal := accepted[0]
	o := h.Do("GET", "/api/marketplace-orders/"+renewal+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	if o["state"] != "pending-provider" || o["type"] != "Update" || o["marketplace_resource_uuid"] != id {
		t.Errorf("the accepted renewal %v, want an Update order of %s pending the provider", o, id)
	}
	if got := orderCount(t, h, id, "Update"); got != 1 {
		t.Errorf("%d Update orders for the resource, want the one accepted", got)
	}
	if after := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Body; string(after) != string(resource) {
		t.Errorf("a pending renewal changed the resource:\nbefore %s\nafter  %s", resource, after)
	}
	if fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id)); len(fresh) != 0 {
		t.Errorf("a pending renewal made versions %+v", fresh)
	}

	// Approved, it runs: Updating by the approver, then the new date.
	wantAnswer(t, h.Do("POST", "/api/marketplace-orders/"+renewal+"/approve_by_provider/", apptest.Staff, nil), 200, "detail", "Order has been approved.")
	waitOrder(t, h, renewal, "done")
	live := waitState(t, h, id, "OK")
	if want := addDays(t, initial, 1); live["end_date"] != want {
		t.Errorf("after the approved renewal: end_date %v, want %s", live["end_date"], want)
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	checkRenewalPairs(t, fresh, accepted, initial, "admin")
	checkChain(t, h, id, before[0], fresh)
})

// orderCount is how many orders of a type a resource has.
func orderCount(t testing.TB, h *apptest.Harness, id, typ string) int {
	t.Helper()
	r := h.Do("GET", "/api/marketplace-orders/?resource_uuid="+id+"&type="+typ, apptest.Staff, nil).Want(t, 200)
	n, err := strconv.Atoi(r.Header.Get("X-Result-Count"))
	if err != nil {
		t.Fatalf("X-Result-Count %q: %v", r.Header.Get("X-Result-Count"), err)
	}
	return n
}

// Renewals (orders, refused while one is in flight), PATCHes and set_slug
// race on one resource: every accepted change ends up in the final state
// and in exactly its versions, each diffed against the one before it.
var _ = register("ConcurrentWritersOfDifferentFields", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-mixed-race")
	initial := addDays(t, time.Now().UTC().Format(marketplace.DateLayout), 30)
	edit(t, h, id, map[string]any{"end_date": initial})
	before := versionsOf(t, h, consumerPrefix, id)

	var calls []call
	for i := range 5 {
		calls = append(calls,
			call{"POST", consumerPrefix + id + "/renew/", apptest.Bob, map[string]any{"extension_days": 1}},
			call{"PATCH", providerPrefix + id + "/", apptest.Staff, map[string]any{"description": fmt.Sprintf("description %d", i)}},
			call{"POST", consumerPrefix + id + "/set_slug/", apptest.Staff, map[string]any{"slug": fmt.Sprintf("slug-%d", i)}})
	}
	var renews []outcome
	for _, o := range concurrently(h, calls) {
		switch {
		case strings.HasSuffix(o.path, "/renew/"):
			renews = append(renews, o)
		case o.err != nil || o.status != 200:
			t.Errorf("%s %s: %d %s %v", o.method, o.path, o.status, o.body, o.err)
		case o.method == "POST" && !jsonEq(o.body, `{"status":"Resource slug has been updated."}`):
			t.Errorf("set_slug answered %s", o.body)
		}
	}
	accepted := renewals(t, renews)
	if len(accepted) == 0 {
		t.Fatal("no renewal was accepted")
	}
	for _, o := range accepted {
		waitOrder(t, h, o, "done")
	}
	live := waitState(t, h, id, "OK")
	if want := addDays(t, initial, len(accepted)); live["end_date"] != want {
		t.Errorf("after %d accepted renewals of %s by one day: end_date %v, want %s (lost update)", len(accepted), initial, live["end_date"], want)
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	if want := 10 + 2*len(accepted); len(fresh) != want {
		t.Fatalf("10 writes and %d accepted renewals made %d versions, want %d", len(accepted), len(fresh), want)
	}
	var renewalVersions []version
	for _, v := range fresh {
		switch {
		case strings.HasPrefix(v.RevisionComment, "State changed to Updating by order "),
			strings.HasPrefix(v.RevisionComment, "Resource updated by order "):
			renewalVersions = append(renewalVersions, v)
		case strings.HasPrefix(v.RevisionComment, "Slug changed to "):
			if slug := strings.TrimPrefix(v.RevisionComment, "Slug changed to "); v.SerializedData["slug"] != slug || v.username() != "admin" {
				t.Errorf("%q by %s: slug %v", v.RevisionComment, v.username(), v.SerializedData["slug"])
			}
		case v.RevisionComment == "Resource updated":
			if d, _ := v.SerializedData["description"].(string); !strings.HasPrefix(d, "description ") || v.username() != "admin" {
				t.Errorf("update version by %s has description %q", v.username(), d)
			}
		default:
			t.Errorf("unexpected version %q", v.RevisionComment)
		}
	}
	// Between a renewal's Updating and its completion only PATCHes and
	// slugs may come; each renewal adds its one day.
	checkRenewalPairs(t, renewalVersions, accepted, initial, "bob")
	// Each description and slug written appears in exactly one version.
	for _, f := range []string{"description", "slug"} {
		var vals []string
		for _, v := range fresh {
			if d := getDiff(t, h, consumerPrefix, id, v.ID, ""); len(d.Changes) == 1 && d.Changes[0].Field == f {
				vals = append(vals, d.Changes[0].New.(string))
			}
		}
		slices.Sort(vals)
		var want []string
		for i := range 5 {
			if f == "slug" {
				want = append(want, fmt.Sprintf("slug-%d", i))
			} else {
				want = append(want, fmt.Sprintf("description %d", i))
			}
		}
		if !slices.Equal(vals, want) {
			t.Errorf("%s versions carry %q, want %q", f, vals, want)
		}
	}
	checkChain(t, h, id, before[0], fresh)
})
