package history_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
)

// edit applies a PATCH as alice and fails unless it succeeds.
func edit(t testing.TB, h *apptest.Harness, id string, body map[string]any) {
	t.Helper()
	h.Do("PATCH", consumerPrefix+id+"/", apptest.Alice, body).Want(t, 200)
}

var linkRel = regexp.MustCompile(`<([^>]+)>; rel="(\w+)"`)

// links maps each rel of a Link header to its URL's query.
func links(t testing.TB, header string) map[string]url.Values {
	t.Helper()
	out := map[string]url.Values{}
	for _, m := range linkRel.FindAllStringSubmatch(header, -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatalf("bad link %q: %v", m[1], err)
		}
		out[m[2]] = u.Query()
	}
	return out
}

var _ = register("ListOrderPaginationAndFilters", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-list")
	edit(t, h, id, map[string]any{"name": "list-1"})
	edit(t, h, id, map[string]any{"description": "d1"})
	edit(t, h, id, map[string]any{"name": "list-2"})
	h.Do("POST", consumerPrefix+id+"/set_paused/", apptest.Staff, map[string]any{"paused": true}).Want(t, 200)
	edit(t, h, id, map[string]any{"name": "list-3"})

	base := consumerPrefix + id + "/history/"
	all := versionsOf(t, h, consumerPrefix, id)
	if len(all) != 7 {
		t.Fatalf("%d versions, want 7 (created, OK, 5 edits): %+v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.RevisionDate.Before(b.RevisionDate) || (a.RevisionDate.Equal(b.RevisionDate) && a.ID < b.ID) {
			t.Errorf("history/ not newest first: %d (%s) before %d (%s)", a.ID, a.RevisionDate, b.ID, b.RevisionDate)
		}
	}
	if all[0].SerializedData["name"] != "list-3" || all[len(all)-1].RevisionComment != "Resource created" {
		t.Errorf("newest is %v, oldest %q; want list-3 first and the creation last", all[0].SerializedData["name"], all[len(all)-1].RevisionComment)
	}
	// Both endpoint families show the same history.
	if prov := versionsOf(t, h, providerPrefix, id); !sameJSON(prov, all) {
		t.Errorf("provider history %v differs from consumer history %v", ids(prov), ids(all))
	}

	t.Run("pagination", func(t *testing.T) {
		h := &apptest.Harness{T: t, App: h.App, URL: h.URL, Client: h.Client}
		for _, c := range []struct {
			page             int
			want             []version
			prev, next, last int // 0: no such link
		}{
			{1, all[0:2], 0, 2, 4},
			{2, all[2:4], 1, 3, 4},
			{4, all[6:7], 3, 0, 4},
		} {
			r := h.Do("GET", fmt.Sprintf("%s?page_size=2&page=%d", base, c.page), apptest.Support, nil).Want(t, 200)
			if got := r.Header.Get("X-Result-Count"); got != "7" {
				t.Errorf("page %d: X-Result-Count %q, want 7", c.page, got)
			}
			if got := decode[[]version](t, r); !slices.Equal(ids(got), ids(c.want)) {
				t.Errorf("page %d: versions %v, want %v", c.page, ids(got), ids(c.want))
			}
			l := links(t, r.Header.Get("Link"))
			for rel, want := range map[string]int{"first": 1, "prev": c.prev, "next": c.next, "last": c.last} {
				q, ok := l[rel]
				if want == 0 {
					if ok {
						t.Errorf("page %d: unexpected rel=%s link", c.page, rel)
					}
					continue
				}
				if !ok || q.Get("page") != strconv.Itoa(want) || q.Get("page_size") != "2" {
					t.Errorf("page %d: rel=%s link %v, want page=%d page_size=2 (Link: %s)", c.page, rel, q, want, r.Header.Get("Link"))
				}
			}
		}
		wantBody(t, h.Do("GET", base+"?page_size=2&page=5", apptest.Staff, nil), 404, `{"detail":"Invalid page."}`)
		head := h.Do("HEAD", base+"?page_size=2", apptest.Staff, nil).Want(t, 200)
		if head.Header.Get("X-Result-Count") != "7" || len(head.Body) != 0 {
			t.Errorf("HEAD history/: X-Result-Count %q, %d body bytes; want 7 and none", head.Header.Get("X-Result-Count"), len(head.Body))
		}
	})

	t.Run("time bounds are strict", func(t *testing.T) {
		h := &apptest.Harness{T: t, App: h.App, URL: h.URL, Client: h.Client}
		filter := func(keep func(v version) bool) []version {
			var out []version
			for _, v := range all {
				if keep(v) {
					out = append(out, v)
				}
			}
			return out
		}
		mid, newer, older := all[3], all[1], all[5]
		cet := time.FixedZone("CET", 3600)
		for _, c := range []struct {
			name, query string
			want        []version
		}{
			{"before", "created_before=" + stamp(mid.RevisionDate), filter(func(v version) bool { return v.RevisionDate.Before(mid.RevisionDate) })},
			{"after", "created_after=" + stamp(mid.RevisionDate), filter(func(v version) bool { return v.RevisionDate.After(mid.RevisionDate) })},
			{"between", "created_after=" + stamp(older.RevisionDate) + "&created_before=" + stamp(newer.RevisionDate),
				filter(func(v version) bool {
					return v.RevisionDate.After(older.RevisionDate) && v.RevisionDate.Before(newer.RevisionDate)
				})},
			{"offset form", "created_before=" + url.QueryEscape(mid.RevisionDate.In(cet).Format("2006-01-02T15:04:05.999999-07:00")),
				filter(func(v version) bool { return v.RevisionDate.Before(mid.RevisionDate) })},
		} {
			if len(c.want) == 0 || len(c.want) == len(all) || slices.ContainsFunc(c.want, func(v version) bool { return v.ID == mid.ID }) && c.name != "between" {
				t.Fatalf("%s: bad test data: %v of %v", c.name, ids(c.want), ids(all))
			}
			r := h.Do("GET", base+"?"+c.query, apptest.Staff, nil).Want(t, 200)
			got := decode[[]version](t, r)
			if !slices.Equal(ids(got), ids(c.want)) || r.Header.Get("X-Result-Count") != strconv.Itoa(len(c.want)) {
				t.Errorf("%s (%s): versions %v (count %s), want %v", c.name, c.query, ids(got), r.Header.Get("X-Result-Count"), ids(c.want))
			}
		}
		for _, p := range []string{"created_before", "created_after"} {
			wantBody(t, h.Do("GET", base+"?"+p+"=last-tuesday", apptest.Staff, nil), 400, `{"`+p+`":["Invalid timestamp format."]}`)
		}
	})

	t.Run("field filter", func(t *testing.T) {
		h := &apptest.Harness{T: t, App: h.App, URL: h.URL, Client: h.Client}
		for _, field := range []string{"name", "paused", "description", "state"} {
			var want []version
			for i, v := range all {
				if i == len(all)-1 || !sameJSON(v.SerializedData[field], all[i+1].SerializedData[field]) {
					want = append(want, v)
				}
			}
			if len(want) < 2 || len(want) == len(all) {
				t.Fatalf("field %s: bad test data %v", field, ids(want))
			}
			r := h.Do("GET", base+"?field="+field, apptest.Staff, nil).Want(t, 200)
			if got := decode[[]version](t, r); !slices.Equal(ids(got), ids(want)) {
				t.Errorf("field=%s: versions %v, want %v", field, ids(got), ids(want))
			}
		}
		r := h.Do("GET", base+"?field=colour", apptest.Staff, nil)
		msgs := decode[map[string][]string](t, r)["field"]
		if r.Status != 400 || len(msgs) != 1 || !strings.HasPrefix(msgs[0], "Unknown field.") {
			t.Errorf("field=colour: %d %s, want 400 {\"field\": [\"Unknown field. ...\"]}", r.Status, r.Body)
		}
	})

	t.Run("ties are broken by id", func(t *testing.T) {
		h := &apptest.Harness{T: t, App: h.App, URL: h.URL, Client: h.Client}
		// A separate resource: give three versions one instant.
		_, other := okResource(t, h, fx, "history-ties")
		edit(t, h, other, map[string]any{"name": "ties-1"})
		edit(t, h, other, map[string]any{"name": "ties-2"})
		vs := versionsOf(t, h, consumerPrefix, other)
		if len(vs) != 4 {
			t.Fatalf("%d versions, want 4", len(vs))
		}
		tie := vs[2].RevisionDate
		err := h.App.DB.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(context.Background(), "UPDATE versions SET created = ? WHERE id IN (?, ?, ?)", tie, vs[0].ID, vs[1].ID, vs[2].ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := versionsOf(t, h, consumerPrefix, other)
		want := slices.Clone(ids(vs[:3]))
		slices.Sort(want)
		slices.Reverse(want)
		want = append(want, vs[3].ID)
		if !slices.Equal(ids(got), want) {
			t.Errorf("with three versions at one instant: order %v, want %v (ties by id, newest first)", ids(got), want)
		}
		at := decode[version](t, h.Do("GET", consumerPrefix+other+"/history/at/?timestamp="+stamp(tie), apptest.Staff, nil).Want(t, 200))
		if at.ID != want[0] {
			t.Errorf("history/at/ at the tied instant returned %d, want the highest id %d", at.ID, want[0])
		}
	})
})

var _ = register("At", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-at")
	edit(t, h, id, map[string]any{"name": "at-1"})
	edit(t, h, id, map[string]any{"description": "at"})
	all := versionsOf(t, h, consumerPrefix, id)
	if len(all) != 4 {
		t.Fatalf("%d versions, want 4", len(all))
	}
	base := consumerPrefix + id + "/history/at/"

	wantBody(t, h.Do("GET", base, apptest.Staff, nil), 400, `{"timestamp":["This parameter is required."]}`)
	wantBody(t, h.Do("GET", base+"?timestamp=", apptest.Staff, nil), 400, `{"timestamp":["This parameter is required."]}`)
	wantBody(t, h.Do("GET", base+"?timestamp=yesterday", apptest.Support, nil), 400, `{"timestamp":["Invalid timestamp format."]}`)
	wantBody(t, h.Do("GET", base+"?timestamp=2026-13-45T25:61:00Z", apptest.Staff, nil), 400, `{"timestamp":["Invalid timestamp format."]}`)

	first := all[len(all)-1]
	wantBody(t, h.Do("GET", base+"?timestamp="+stamp(first.RevisionDate.Add(-time.Microsecond)), apptest.Staff, nil), 404, msgNoVersion)
	wantBody(t, h.Do("GET", base+"?timestamp=2001-01-01", apptest.Staff, nil), 404, msgNoVersion)

	for i, v := range all {
		raw := v.RevisionDate.UTC().Format(time.RFC3339Nano)
		got := decode[version](t, h.Do("GET", base+"?timestamp="+url.QueryEscape(raw), apptest.Staff, nil).Want(t, 200))
		if got.ID != v.ID || !sameJSON(got.SerializedData, v.SerializedData) || got.RevisionComment != v.RevisionComment {
			t.Errorf("at %s (exactly version %d): got version %d, want %d (inclusive)", raw, v.ID, got.ID, v.ID)
		}
		if got.queried() != raw {
			t.Errorf("queried_at = %s, want %q", got.queried(), raw)
		}
		if i+1 < len(all) {
			// Just before this version, the older one is current.
			older := all[i+1]
			got := decode[version](t, h.Do("GET", base+"?timestamp="+stamp(v.RevisionDate.Add(-time.Microsecond)), apptest.Staff, nil).Want(t, 200))
			if got.ID != older.ID {
				t.Errorf("1µs before version %d: got %d, want %d", v.ID, got.ID, older.ID)
			}
		}
	}

	// queried_at echoes the parameter as sent, whatever its form.
	for _, raw := range []string{"2099-01-01T00:00:00+00:00", "2099-01-01T01:00:00+01:00", "2099-01-01", "2099-01-01T00:00:00.5Z"} {
		got := decode[version](t, h.Do("GET", base+"?timestamp="+url.QueryEscape(raw), apptest.Staff, nil).Want(t, 200))
		if got.queried() != raw || got.ID != all[0].ID {
			t.Errorf("timestamp %q: queried_at %s, version %d; want the parameter echoed and version %d", raw, got.queried(), got.ID, all[0].ID)
		}
	}

	// At "now" history shows the live resource.
	live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	now := decode[version](t, h.Do("GET", base+"?timestamp="+stamp(time.Now()), apptest.Support, nil).Want(t, 200))
	if !sameJSON(now.SerializedData, liveSnapshot(live)) {
		t.Errorf("at now: %v, live resource: %v", now.SerializedData, liveSnapshot(live))
	}
	prov := decode[version](t, h.Do("GET", providerPrefix+id+"/history/at/?timestamp="+stamp(time.Now()), apptest.Staff, nil).Want(t, 200))
	if prov.ID != now.ID {
		t.Errorf("provider history/at/ now: %d, consumer: %d", prov.ID, now.ID)
	}
})

var _ = register("VersionAndDiff", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-diff")
	_, other := okResource(t, h, fx, "history-diff-other")
	edit(t, h, id, map[string]any{"name": "diff-1"})
	edit(t, h, id, map[string]any{"description": "described", "options": map[string]any{"a": 1}})
	all := versionsOf(t, h, consumerPrefix, id)
	otherV := versionsOf(t, h, consumerPrefix, other)
	if len(all) != 4 || len(otherV) != 2 {
		t.Fatalf("%d and %d versions, want 4 and 2", len(all), len(otherV))
	}
	newest, named, ok, first := all[0], all[1], all[2], all[3]

	for _, prefix := range []string{consumerPrefix, providerPrefix} {
		for _, v := range all {
			got := decode[version](t, h.Do("GET", fmt.Sprintf("%s%s/history/%d/", prefix, id, v.ID), apptest.Support, nil).Want(t, 200))
			if !sameJSON(got, v) {
				t.Errorf("%shistory/%d/ = %+v, want the list entry %+v", prefix, v.ID, got, v)
			}
		}
	}
	// Another resource's version, or no version, is not found here.
	for _, p := range []string{
		fmt.Sprintf("%d/", otherV[0].ID), fmt.Sprintf("%d/diff/", otherV[0].ID), "abc/", "abc/diff/", "999999999/", "999999999/diff/",
	} {
		wantBody(t, h.Do("GET", consumerPrefix+id+"/history/"+p, apptest.Staff, nil), 404, msgNotFound)
	}

	check := func(name string, d diff, compared *int64, want []change) {
		t.Helper()
		if (d.ComparedTo == nil) != (compared == nil) || (compared != nil && *d.ComparedTo != *compared) || !sameJSON(d.Changes, want) {
			t.Errorf("%s: compared_to %v, changes %+v; want %v, %+v", name, d.ComparedTo, d.Changes, compared, want)
		}
	}
	check("newest vs previous", getDiff(t, h, consumerPrefix, id, newest.ID, ""), &named.ID,
		[]change{{"description", "", "described"}, {"options", map[string]any{}, map[string]any{"a": 1}}})
	check("rename vs previous", getDiff(t, h, providerPrefix, id, named.ID, ""), &ok.ID, []change{{"name", "history-diff", "diff-1"}})
	check("OK vs created", getDiff(t, h, consumerPrefix, id, ok.ID, ""), &first.ID, []change{{"state", "Creating", "OK"}})
	check("newest vs first (?to=)", getDiff(t, h, consumerPrefix, id, newest.ID, fmt.Sprintf("?to=%d", first.ID)), &first.ID, []change{
		{"description", "", "described"}, {"name", "history-diff", "diff-1"}, {"options", map[string]any{}, map[string]any{"a": 1}}, {"state", "Creating", "OK"}})
	check("first vs newest (?to=)", getDiff(t, h, consumerPrefix, id, first.ID, fmt.Sprintf("?to=%d", newest.ID)), &newest.ID, []change{
		{"description", "described", ""}, {"name", "diff-1", "history-diff"}, {"options", map[string]any{"a": 1}, map[string]any{}}, {"state", "OK", "Creating"}})
	check("against itself", getDiff(t, h, consumerPrefix, id, named.ID, fmt.Sprintf("?to=%d", named.ID)), &named.ID, []change{})
	var firstAll []change
	for _, f := range trackedFields {
		firstAll = append(firstAll, change{f, nil, first.SerializedData[f]})
	}
	check("first version", getDiff(t, h, consumerPrefix, id, first.ID, ""), nil, firstAll)

	wantBody(t, h.Do("GET", fmt.Sprintf("%s%s/history/%d/diff/?to=%d", consumerPrefix, id, newest.ID, otherV[0].ID), apptest.Staff, nil),
		400, `{"to":["No such version of this object."]}`)
	wantBody(t, h.Do("GET", fmt.Sprintf("%s%s/history/%d/diff/?to=first", consumerPrefix, id, newest.ID), apptest.Staff, nil),
		400, `{"to":["A valid integer is required."]}`)
})

var _ = register("Revert", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "revert-me")
	original := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	created := versionsOf(t, h, consumerPrefix, id)[1]
	if created.RevisionComment != "Resource created" {
		t.Fatalf("oldest version %q, want the creation", created.RevisionComment)
	}

	edit(t, h, id, map[string]any{"name": "changed"})
	named := versionsOf(t, h, consumerPrefix, id)[0]
	edit(t, h, id, map[string]any{"description": "changed too", "end_date": "2031-01-01", "options": map[string]any{"k": "v"}})
	for _, p := range []struct {
		path string
		body map[string]any
	}{
		{"set_slug", map[string]any{"slug": "changed-slug"}}, {"set_paused", map[string]any{"paused": true}},
		{"set_downscaled", map[string]any{"downscaled": true}}, {"set_restrict_member_access", map[string]any{"restrict_member_access": true}},
	} {
		h.Do("POST", consumerPrefix+id+"/"+p.path+"/", apptest.Staff, p.body).Want(t, 200)
	}
	// An update order changes limits: only orders may, so a revert must not.
	h.Do("POST", "/api/marketplace-orders/", apptest.Alice, map[string]any{
		"type": "Update", "resource": id, "limits": map[string]any{"cpu_hours": 500},
	}).Want(t, 201)
	apptest.Eventually(t, processWait, "the update order to finish", func() bool {
		r := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
		return r["state"] == "OK" && sameJSON(r["limits"], map[string]any{"cpu_hours": 500})
	})
	before := versionsOf(t, h, consumerPrefix, id)
	revertPath := fmt.Sprintf("%s%s/history/%d/revert/", consumerPrefix, id, created.ID)

	// Only staff may revert; the checks come before any lookup.
	wantBody(t, h.Do("POST", revertPath, "", nil), 401, msgNotProvided)
	for _, tok := range []string{apptest.Support, apptest.Alice, apptest.Bob, carol} {
		wantBody(t, h.Do("POST", revertPath, tok, nil), 403, msgForbidden)
		wantBody(t, h.Do("POST", fmt.Sprintf("%s%s/history/%d/revert/", consumerPrefix, uuid.NewString(), created.ID), tok, nil), 403, msgForbidden)
	}
	wantBody(t, h.Do("POST", fmt.Sprintf("%s%s/history/%d/revert/", consumerPrefix, strings.ReplaceAll(uuid.NewString(), "-", ""), created.ID), apptest.Staff, nil), 404, msgNotFound)
	wantBody(t, h.Do("POST", fmt.Sprintf("%s%s/history/999999999/revert/", consumerPrefix, id), apptest.Staff, nil), 404, msgNotFound)
	if after := versionsOf(t, h, consumerPrefix, id); len(after) != len(before) {
		t.Fatalf("refused reverts made %d versions", len(after)-len(before))
	}

	res := h.Do("POST", revertPath, apptest.Staff, nil).Want(t, 200).Object(t)
	wantRestored := []string{"name", "description", "slug", "options", "end_date", "downscaled", "restrict_member_access", "paused"}
	wantSkipped := []string{"state", "limits"}
	sameSet := func(got any, want []string) bool {
		xs, ok := got.([]any)
		if !ok {
			return false // not a JSON list
		}
		var l []string
		for _, x := range xs {
			s, _ := x.(string)
			l = append(l, s)
		}
		slices.Sort(l)
		w := slices.Clone(want)
		slices.Sort(w)
		return slices.Equal(l, w)
	}
	if res["reverted_to"] != float64(created.ID) || !sameSet(res["restored"], wantRestored) || !sameSet(res["skipped"], wantSkipped) {
		t.Errorf("revert result reverted_to %v restored %v skipped %v; want %d, %v, %v",
			res["reverted_to"], res["restored"], res["skipped"], created.ID, wantRestored, wantSkipped)
	}
	live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	for _, f := range wantRestored {
		if !sameJSON(live[f], original[f]) {
			t.Errorf("after revert %s = %v, want the original %v", f, live[f], original[f])
		}
	}
	if live["state"] != "OK" || !sameJSON(live["limits"], map[string]any{"cpu_hours": 500}) {
		t.Errorf("revert wrote order-only fields: state %v limits %v, want OK and cpu_hours 500", live["state"], live["limits"])
	}
	if !sameJSON(res["resource"].(map[string]any)["name"], original["name"]) {
		t.Errorf("revert response resource %v, want the reverted resource", res["resource"])
	}
	after := versionsOf(t, h, consumerPrefix, id)
	fresh := newVersions(before, after)
	if len(fresh) != 1 {
		t.Fatalf("revert made %d versions, want 1: %+v", len(fresh), fresh)
	}
	rv := fresh[0]
	if want := fmt.Sprintf("Reverted to version %d", created.ID); rv.RevisionComment != want || rv.username() != "admin" {
		t.Errorf("revert version %q by %s, want %q by admin", rv.RevisionComment, rv.username(), want)
	}
	if d := getDiff(t, h, consumerPrefix, id, rv.ID, ""); !sameSet(anyList(d.fields()), wantRestored) {
		t.Errorf("revert version changed %v, want %v", d.fields(), wantRestored)
	}
	if !sameJSON(rv.SerializedData, liveSnapshot(live)) {
		t.Errorf("revert version %v differs from the live resource %v", rv.SerializedData, liveSnapshot(live))
	}

	// Reverting to the current state changes nothing and records nothing.
	res = h.Do("POST", fmt.Sprintf("%s%s/history/%d/revert/", consumerPrefix, id, rv.ID), apptest.Staff, nil).Want(t, 200).Object(t)
	if !sameSet(res["restored"], nil) || !sameSet(res["skipped"], nil) {
		t.Errorf("no-op revert restored %v skipped %v, want none", res["restored"], res["skipped"])
	}
	if n := len(versionsOf(t, h, consumerPrefix, id)); n != len(after) {
		t.Errorf("no-op revert made %d versions", n-len(after))
	}

	// Through the provider endpoints, back to the renamed version: only the
	// name differs among the fields a revert may write.
	res = h.Do("POST", fmt.Sprintf("%s%s/history/%d/revert/", providerPrefix, id, named.ID), apptest.Staff, nil).Want(t, 200).Object(t)
	if !sameSet(res["restored"], []string{"name"}) || !sameSet(res["skipped"], []string{"limits"}) {
		t.Errorf("revert to the renamed version restored %v skipped %v, want [name] [limits]", res["restored"], res["skipped"])
	}
	last := versionsOf(t, h, consumerPrefix, id)
	if len(last) != len(after)+1 || last[0].RevisionComment != fmt.Sprintf("Reverted to version %d", named.ID) || last[0].SerializedData["name"] != "changed" {
		t.Errorf("after the provider-side revert: newest %q name %v (%d versions, want %d)",
			last[0].RevisionComment, last[0].SerializedData["name"], len(last), len(after)+1)
	}
})

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

var _ = register("Permissions", func(t *testing.T, h *apptest.Harness) {
	type target struct{ prefix, id string }
	first := func(path string) string {
		l := h.Do("GET", path, apptest.Staff, nil).Want(t, 200).List(t)
		if len(l) == 0 {
			t.Fatalf("%s: the demo data has none", path)
		}
		return l[0]["uuid"].(string)
	}
	// A resource of its own: the staff revert below must not touch others'.
	_, res := okResource(t, h, demoFixture(t, h), "history-permissions")
	targets := []target{
		{consumerPrefix, res}, {providerPrefix, res},
		{"/api/customers/", first("/api/customers/")}, {"/api/projects/", first("/api/projects/")},
		{"/api/marketplace-provider-offerings/", first("/api/marketplace-provider-offerings/")},
		{"/api/marketplace-plans/", first("/api/marketplace-plans/")},
	}
	unknown := strings.ReplaceAll(uuid.NewString(), "-", "")
	now := stamp(time.Now().Add(time.Hour))
	for _, tg := range targets {
		vs := versionsOf(t, h, tg.prefix, tg.id)
		if len(vs) == 0 {
			t.Fatalf("%s%s has no history", tg.prefix, tg.id)
		}
		v := vs[0].ID
		endpoints := []struct{ method, path string }{{"GET", "history/"}, {"GET", "history/at/?timestamp=" + now}}
		if strings.Contains(tg.prefix, "resources") {
			// Every endpoint of both resource families; the other kinds
			// share the code, so list and at suffice for them.
			endpoints = append(endpoints, []struct{ method, path string }{{"HEAD", "history/"},
				{"GET", fmt.Sprintf("history/%d/", v)}, {"GET", fmt.Sprintf("history/%d/diff/", v)}}...)
			// Reverting to the newest version changes nothing.
			endpoints = append(endpoints, struct{ method, path string }{"POST", fmt.Sprintf("history/%d/revert/", v)})
		}
		for _, e := range endpoints {
			known, missing := tg.prefix+tg.id+"/"+e.path, tg.prefix+unknown+"/"+e.path
			check := func(who, path, token string, status int, body string) {
				t.Helper()
				r := h.Do(e.method, path, token, nil)
				if r.Status != status {
					t.Errorf("%s %s as %s: %d %s, want %d", e.method, path, who, r.Status, r.Body, status)
					return
				}
				if e.method != "HEAD" && body != "" {
					wantBody(t, r, status, body)
				}
			}
			check("anonymous", known, "", 401, msgNotProvided)
			check("anonymous", missing, "", 401, msgNotProvided)
			for who, tok := range map[string]string{"alice": apptest.Alice, "bob": apptest.Bob, "carol": carol} {
				check(who, known, tok, 403, msgForbidden)
				check(who, missing, tok, 403, msgForbidden)
			}
			if e.method == "POST" {
				check("staff", known, apptest.Staff, 200, "")
				check("staff", missing, apptest.Staff, 404, msgNotFound)
				check("support", known, apptest.Support, 403, msgForbidden)
				check("support", missing, apptest.Support, 403, msgForbidden)
				continue
			}
			for who, tok := range map[string]string{"staff": apptest.Staff, "support": apptest.Support} {
				check(who, known, tok, 200, "")
				check(who, missing, tok, 404, msgNotFound)
			}
		}
	}
})

var _ = register("DeletedResourceKeepsHistory", func(t *testing.T, h *apptest.Harness) {
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-deleted")
	edit(t, h, id, map[string]any{"name": "soon-gone"})
	// SQLite reuses the highest rowid once it is deleted, and River's
	// unique-by-args process-order job then takes the next order, which gets
	// the deleted order's id, for one already processed: it would never run.
	// heed never deletes orders; this test does, so a later order keeps the
	// deleted one from being the newest.
	okResource(t, h, fx, "history-deleted-guard")
	before := versionsOf(t, h, consumerPrefix, id)
	ctx := context.Background()
	err := h.App.DB.InTx(ctx, func(tx *db.Tx) error {
		var rid int64
		if err := tx.QueryRow(ctx, "SELECT id FROM resources WHERE uuid = ?", uuid.MustParse(id).String()).Scan(&rid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM orders WHERE resource_id = ?", rid); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM resources WHERE id = ?", rid)
		return err
	})
	if err != nil {
		t.Fatalf("delete the resource: %v", err)
	}
	wantBody(t, h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil), 404, msgNotFound)
	for _, prefix := range []string{consumerPrefix, providerPrefix} {
		if got := versionsOf(t, h, prefix, id); !sameJSON(got, before) {
			t.Errorf("%s history after deletion %v, want %v", prefix, ids(got), ids(before))
		}
		at := decode[version](t, h.Do("GET", prefix+id+"/history/at/?timestamp="+stamp(time.Now()), apptest.Support, nil).Want(t, 200))
		if at.ID != before[0].ID {
			t.Errorf("%s history/at/ now: %d, want %d", prefix, at.ID, before[0].ID)
		}
		h.Do("GET", fmt.Sprintf("%s%s/history/%d/", prefix, id, before[0].ID), apptest.Staff, nil).Want(t, 200)
		d := getDiff(t, h, prefix, id, before[0].ID, "")
		if !slices.Equal(d.fields(), []string{"name"}) {
			t.Errorf("diff after deletion: %v, want [name]", d.fields())
		}
	}
	// There is nothing left to revert.
	wantBody(t, h.Do("POST", fmt.Sprintf("%s%s/history/%d/revert/", consumerPrefix, id, before[1].ID), apptest.Staff, nil), 404, msgNotFound)
	if got := versionsOf(t, h, consumerPrefix, id); len(got) != len(before) {
		t.Errorf("a refused revert of a deleted resource made versions: %d → %d", len(before), len(got))
	}
})
