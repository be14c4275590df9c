package history_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// checkSnapshot fails unless data has exactly the 13 tracked fields, with
// plan as a 32-hex plan uuid.
func checkSnapshot(t testing.TB, v version, plan string) {
	t.Helper()
	if got := keys(v.SerializedData); !slices.Equal(got, trackedFields) {
		t.Errorf("version %d (%s) serialized_data fields %v, want %v", v.ID, v.RevisionComment, got, trackedFields)
	}
	if p, _ := v.SerializedData["plan"].(string); !hex32.MatchString(p) || p != plan {
		t.Errorf("version %d serialized_data.plan = %v, want the plan's 32-hex uuid %s", v.ID, v.SerializedData["plan"], plan)
	}
}

// checkVersion fails unless v has the comment and user and, diffed against
// prev, changes exactly fields (sorted).
func checkVersion(t testing.TB, h *apptest.Harness, id string, v, prev version, comment, user string, fields ...string) {
	t.Helper()
	if v.RevisionComment != comment || v.username() != user {
		t.Errorf("version %d: %q by %s, want %q by %s", v.ID, v.RevisionComment, v.username(), comment, user)
	}
	if v.ID <= prev.ID || v.RevisionDate.Before(prev.RevisionDate) {
		t.Errorf("version %d (%s) follows %d (%s): revision dates and ids must rise together (commit order)",
			v.ID, v.RevisionDate, prev.ID, prev.RevisionDate)
	}
	d := getDiff(t, h, consumerPrefix, id, v.ID, "")
	got := d.fields()
	slices.Sort(got)
	if d.ComparedTo == nil || *d.ComparedTo != prev.ID || !slices.Equal(got, fields) {
		t.Errorf("version %d (%q): diff against %v changed %v, want %v against %d", v.ID, v.RevisionComment, d.ComparedTo, got, fields, prev.ID)
	}
}

// TestEveryWritePathRecordsOneVersion walks one resource through every write
// path and checks each makes exactly one version with the right comment,
// user and changed fields, and that no-op writes make none. Order-driven
// changes (renew, terminate) make one version per state the order moves the
// resource through.
var _ = register("EveryWritePathRecordsOneVersion", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)

	// carol (project member) orders; her order waits for alice's
	// approval, so the version's user is provably the creator.
	orderUUID, id := order(t, h, fx, carol, "history-paths")
	vs := versionsOf(t, h, consumerPrefix, id)
	if len(vs) != 1 {
		t.Fatalf("after order creation: %d versions, want 1: %+v", len(vs), vs)
	}
	created := vs[0]
	if created.RevisionComment != "Resource created" || created.username() != "carol" || created.SerializedData["state"] != "Creating" {
		t.Fatalf("creation version: comment %q, user %s, state %v; want \"Resource created\" by carol in Creating",
			created.RevisionComment, created.username(), created.SerializedData["state"])
	}
	if !hex32.MatchString(created.RevisionUser.UUID) || created.RevisionUser.FullName != "Carol Member" {
		t.Errorf("revision_user = %+v, want carol's 32-hex uuid and full name", created.RevisionUser)
	}
	checkSnapshot(t, created, fx.plan)
	if d := getDiff(t, h, consumerPrefix, id, created.ID, ""); d.ComparedTo != nil || !slices.Equal(d.fields(), trackedFields) {
		t.Errorf("diff of the first version: compared_to %v, fields %v; want null and all tracked fields", d.ComparedTo, d.fields())
	}

	wantAnswer(t, h.Do("POST", "/api/marketplace-orders/"+orderUUID+"/approve_by_consumer/", apptest.Alice, nil),
		200, "detail", "Order has been approved.")
	live := waitState(t, h, id, "OK")
	vs = versionsOf(t, h, consumerPrefix, id)
	if len(vs) != 2 {
		t.Fatalf("after processing: %d versions, want 2 (approval changes no tracked field): %+v", len(vs), vs)
	}
	ok := vs[0]
	if want := "State changed to OK by order " + orderUUID; ok.RevisionComment != want || ok.RevisionUser != nil {
		t.Errorf("processing version: comment %q by %s, want %q by <null>", ok.RevisionComment, ok.username(), want)
	}
	if d := getDiff(t, h, consumerPrefix, id, ok.ID, ""); d.ComparedTo == nil || *d.ComparedTo != created.ID ||
		!sameJSON(d.Changes, []change{{"state", "Creating", "OK"}}) {
		t.Errorf("diff of the processing version = %+v, want state Creating → OK against %d", d, created.ID)
	}
	checkSnapshot(t, ok, fx.plan)
	if !sameJSON(ok.SerializedData, liveSnapshot(live)) {
		t.Errorf("processing version %v differs from the live resource %v", ok.SerializedData, liveSnapshot(live))
	}

	// Each step answers as Waldur does: PATCH/PUT the resource (at least
	// its name), set_* only {"status": ...}. The version is compared with
	// the resource read afterwards.
	const (
		slugSet     = "Resource slug has been updated."
		downscaled  = "Resource downscaled flag has been updated."
		paused      = "Resource paused flag has been updated."
		restriction = "Resource restrict_member_access flag has been updated."
	)
	steps := []struct {
		name, method, path, token string
		body                      any
		// status is the {"status": ...} a set_* answers; "" means the
		// answer is the resource.
		status string
		// comment is the new version's; "" means no version is made.
		comment, user string
		fields        []string
	}{
		{"PATCH name", "PATCH", consumerPrefix, apptest.Alice, map[string]any{"name": "renamed"}, "", "Resource updated", "alice", []string{"name"}},
		{"PATCH the same name", "PATCH", consumerPrefix, apptest.Alice, map[string]any{"name": "renamed"}, "", "", "", nil},
		{"PUT name and description", "PUT", consumerPrefix, apptest.Bob, map[string]any{"name": "renamed", "description": "put"}, "", "Resource updated", "bob", []string{"description"}},
		{"PATCH on the provider side", "PATCH", providerPrefix, apptest.Staff, map[string]any{"description": "by staff"}, "", "Resource updated", "admin", []string{"description"}},
		{"set_slug", "POST", consumerPrefix + "{}/set_slug/", apptest.Staff, map[string]any{"slug": "new-slug"}, slugSet, "Slug changed to new-slug", "admin", []string{"slug"}},
		{"set_slug to the same slug", "POST", consumerPrefix + "{}/set_slug/", apptest.Staff, map[string]any{"slug": "new-slug"}, slugSet, "", "", nil},
		{"set_downscaled", "POST", consumerPrefix + "{}/set_downscaled/", apptest.Staff, map[string]any{"downscaled": true}, downscaled, "Downscaled changed to true", "admin", []string{"downscaled"}},
		{"set_paused", "POST", consumerPrefix + "{}/set_paused/", apptest.Staff, map[string]any{"paused": true}, paused, "Paused changed to true", "admin", []string{"paused"}},
		{"set_paused to its current value", "POST", consumerPrefix + "{}/set_paused/", apptest.Staff, map[string]any{"paused": true}, paused, "", "", nil},
		{"set_restrict_member_access true", "POST", providerPrefix + "{}/set_restrict_member_access/", apptest.Staff, map[string]any{"restrict_member_access": true}, restriction, "Restrict member access changed to true", "admin", []string{"restrict_member_access"}},
		{"set_restrict_member_access false", "POST", consumerPrefix + "{}/set_restrict_member_access/", apptest.Staff, map[string]any{"restrict_member_access": false}, restriction, "Restrict member access changed to false", "admin", []string{"restrict_member_access"}},
		{"PATCH options", "PATCH", consumerPrefix, apptest.Alice, map[string]any{"options": map[string]any{"tier": "gold"}}, "", "Resource updated", "alice", []string{"options"}},
	}
	for _, s := range steps {
		path := s.path + id + "/"
		if strings.Contains(s.path, "{}") {
			path = strings.Replace(s.path, "{}", id, 1)
		}
		before := versionsOf(t, h, consumerPrefix, id)
		r := h.Do(s.method, path, s.token, s.body)
		live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
		if s.status != "" {
			wantAnswer(t, r, 200, "status", s.status)
		} else if resp := r.Want(t, 200).Object(t); resp["name"] == nil || resp["name"] != live["name"] {
			t.Errorf("%s: answered name %v, want the resource's name %v", s.name, resp["name"], live["name"])
		}
		after := versionsOf(t, h, consumerPrefix, id)
		fresh := newVersions(before, after)
		if s.comment == "" {
			if len(fresh) != 0 || len(after) != len(before) {
				t.Errorf("%s: a no-op made versions %+v", s.name, fresh)
			}
			if !sameJSON(before[0].SerializedData, liveSnapshot(live)) {
				t.Errorf("%s: a no-op left %v, the newest version is %v", s.name, liveSnapshot(live), before[0].SerializedData)
			}
			continue
		}
		if len(fresh) != 1 || len(after) != len(before)+1 {
			t.Errorf("%s: %d new versions (%d → %d), want exactly 1: %+v", s.name, len(fresh), len(before), len(after), fresh)
			continue
		}
		v := fresh[0]
		if after[0].ID != v.ID {
			t.Errorf("%s: the new version %d is not first in history/ (first is %d)", s.name, v.ID, after[0].ID)
		}
		if v.RevisionComment != s.comment || v.username() != s.user {
			t.Errorf("%s: version comment %q by %s, want %q by %s", s.name, v.RevisionComment, v.username(), s.comment, s.user)
		}
		if d := getDiff(t, h, consumerPrefix, id, v.ID, ""); !slices.Equal(d.fields(), s.fields) || d.ComparedTo == nil || *d.ComparedTo != before[0].ID {
			t.Errorf("%s: diff against %v changed %v, want %v against %d", s.name, d.ComparedTo, d.fields(), s.fields, before[0].ID)
		}
		checkSnapshot(t, v, fx.plan)
		if !sameJSON(v.SerializedData, liveSnapshot(live)) {
			t.Errorf("%s: version data %v differs from the resource read afterwards %v", s.name, v.SerializedData, liveSnapshot(live))
		}
	}

	// Renew places an Update order (alice may approve it, so it runs at
	// once): the resource goes Updating in a version by alice, and the
	// order's completion moves the end date in a version by the system.
	before := versionsOf(t, h, consumerPrefix, id)
	day := time.Now().UTC().Format(marketplace.DateLayout)
	renewal := orderUUIDOf(t, h.Do("POST", consumerPrefix+id+"/renew/", apptest.Alice, map[string]any{"extension_days": 1}))
	dayAfter := time.Now().UTC().Format(marketplace.DateLayout)
	ro := waitOrder(t, h, renewal, "done")
	if ro["type"] != "Update" || ro["marketplace_resource_uuid"] != id || ro["created_by_username"] != "alice" ||
		!sameJSON(ro["attributes"], map[string]any{"renewal": map[string]any{"extension_days": 1}}) {
		t.Errorf("renewal order %v, want alice's Update order of %s with attributes {renewal: {extension_days: 1}}", ro, id)
	}
	live = h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	// The resource had no end date: one day from the server's today.
	if end := live["end_date"]; live["state"] != "OK" || (end != addDays(t, day, 1) && end != addDays(t, dayAfter, 1)) {
		t.Errorf("after renewing by one day from no end date: state %v, end_date %v; want OK, %s", live["state"], end, addDays(t, day, 1))
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	if len(fresh) != 2 {
		t.Fatalf("renew: %d new versions, want 2 (Updating, then updated by the order): %+v", len(fresh), fresh)
	}
	checkVersion(t, h, id, fresh[0], before[0], "State changed to Updating by order "+renewal, "alice", "state")
	if fresh[0].SerializedData["state"] != "Updating" || fresh[0].SerializedData["end_date"] != nil {
		t.Errorf("renew: the Updating version has state %v, end_date %v; want Updating, no end date yet",
			fresh[0].SerializedData["state"], fresh[0].SerializedData["end_date"])
	}
	checkVersion(t, h, id, fresh[1], fresh[0], "Resource updated by order "+renewal, "<null>", "end_date", "state")
	checkSnapshot(t, fresh[1], fx.plan)
	if !sameJSON(fresh[1].SerializedData, liveSnapshot(live)) {
		t.Errorf("renew: the order's version %v differs from the live resource %v", fresh[1].SerializedData, liveSnapshot(live))
	}

	// Terminate: the order moves the resource to Terminating at once and
	// River to Terminated; each is one system version.
	before = versionsOf(t, h, consumerPrefix, id)
	termOrder := orderUUIDOf(t, h.Do("POST", consumerPrefix+id+"/terminate/", apptest.Alice, map[string]any{"request_comment": "done"}))
	live = waitState(t, h, id, "Terminated")
	after := versionsOf(t, h, consumerPrefix, id)
	fresh = newVersions(before, after)
	var comments []string
	for _, v := range fresh {
		comments = append(comments, v.RevisionComment)
		if d := getDiff(t, h, consumerPrefix, id, v.ID, ""); !slices.Equal(d.fields(), []string{"state"}) {
			t.Errorf("termination version %q changed %v, want [state]", v.RevisionComment, d.fields())
		}
	}
	want := []string{"State changed to Terminating by order " + termOrder, "State changed to Terminated by order " + termOrder}
	if !slices.Equal(comments, want) {
		t.Errorf("termination versions %q, want %q", comments, want)
	}
	if len(fresh) == 2 && fresh[1].RevisionUser != nil {
		t.Errorf("the Terminated version is by %s, want <null> (order processing)", fresh[1].username())
	}
	if !sameJSON(after[0].SerializedData, liveSnapshot(live)) {
		t.Errorf("newest version %v differs from the live resource %v", after[0].SerializedData, liveSnapshot(live))
	}
})

// TestOtherObjectsGetCreationVersions checks customers, projects, offerings
// and plans record a creation version readable at their own history/.
var _ = register("OtherObjectsGetCreationVersions", func(t *testing.T, h *apptest.Harness) {
	cust := h.Do("POST", "/api/customers/", apptest.Staff, map[string]any{"name": "History Co", "email": "h@example.com"}).Want(t, 201).Object(t)
	cu := cust["uuid"].(string)
	proj := h.Do("POST", "/api/projects/", apptest.Staff, map[string]any{"customer": cu, "name": "History Project"}).Want(t, 201).Object(t)
	off := h.Do("POST", "/api/marketplace-provider-offerings/", apptest.Staff, map[string]any{"customer": cu, "name": "History Offering", "state": "Active"}).Want(t, 201).Object(t)
	ou := off["uuid"].(string)
	plan := h.Do("POST", "/api/marketplace-plans/", apptest.Staff, map[string]any{"offering": ou, "name": "History Plan", "unit_price": "1.50", "unit": "month"}).Want(t, 201).Object(t)

	for _, c := range []struct {
		prefix, uuid, comment string
		fields                []string
		values                map[string]any
	}{
		{"/api/customers/", cu, "Customer created", []string{"description", "email", "name", "slug"}, map[string]any{"name": "History Co", "email": "h@example.com"}},
		{"/api/projects/", proj["uuid"].(string), "Project created", []string{"customer", "description", "name", "slug"}, map[string]any{"name": "History Project", "customer": cu}},
		{"/api/marketplace-provider-offerings/", ou, "Offering created", []string{"components", "customer", "description", "name", "plugin_options", "state", "type"}, map[string]any{"name": "History Offering", "customer": cu, "state": "Active"}},
		{"/api/marketplace-plans/", plan["uuid"].(string), "Plan created", []string{"archived", "description", "name", "offering", "unit", "unit_price"}, map[string]any{"name": "History Plan", "offering": ou, "unit_price": "1.50"}},
	} {
		r := h.Do("GET", c.prefix+c.uuid+"/history/", apptest.Support, nil).Want(t, 200)
		vs := decode[[]version](t, r)
		if len(vs) != 1 || r.Header.Get("X-Result-Count") != "1" {
			t.Errorf("%s history: %d versions (X-Result-Count %q), want 1", c.prefix, len(vs), r.Header.Get("X-Result-Count"))
			continue
		}
		v := vs[0]
		if v.RevisionComment != c.comment || v.username() != "admin" {
			t.Errorf("%s: version %q by %s, want %q by admin", c.prefix, v.RevisionComment, v.username(), c.comment)
		}
		if got := keys(v.SerializedData); !slices.Equal(got, c.fields) {
			t.Errorf("%s: serialized_data fields %v, want %v", c.prefix, got, c.fields)
		}
		for k, want := range c.values {
			if !sameJSON(v.SerializedData[k], want) {
				t.Errorf("%s: serialized_data.%s = %v, want %v", c.prefix, k, v.SerializedData[k], want)
			}
		}
		at := decode[version](t, h.Do("GET", fmt.Sprintf("%s%s/history/at/?timestamp=%s", c.prefix, c.uuid, stamp(v.RevisionDate)), apptest.Staff, nil).Want(t, 200))
		if at.ID != v.ID {
			t.Errorf("%s: history/at/ at the creation instant returned %d, want %d", c.prefix, at.ID, v.ID)
		}
	}

	// The demo's own objects have theirs too, by whoever created them.
	projects := h.Do("GET", "/api/projects/?name=Genomics", apptest.Staff, nil).Want(t, 200).List(t)
	if len(projects) != 1 {
		t.Fatalf("want the demo project Genomics, have %v", projects)
	}
	vs := versionsOf(t, h, "/api/projects/", projects[0]["uuid"].(string))
	if len(vs) == 0 || vs[len(vs)-1].RevisionComment != "Project created" || vs[len(vs)-1].username() != "alice" {
		t.Errorf("Genomics history %+v, want its oldest version \"Project created\" by alice", vs)
	}

	// Field filters follow each kind's tracked fields.
	r := h.Do("GET", "/api/customers/"+cu+"/history/?field=email", apptest.Staff, nil).Want(t, 200)
	if n := len(decode[[]version](t, r)); n != 1 {
		t.Errorf("customer history ?field=email: %d versions, want the creation version", n)
	}
	r = h.Do("GET", "/api/customers/"+cu+"/history/?field=state", apptest.Staff, nil)
	if r.Status != 400 || len(decode[map[string][]string](t, r)["field"]) != 1 {
		t.Errorf("customer history ?field=state (not a customer field): %d %s, want 400 {\"field\": [...]}", r.Status, r.Body)
	}
})
