package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

var (
	mkVersionRows = regexp.MustCompile(`<tr data-version="(\d+)"`)
	mkChangedRows = regexp.MustCompile(`<tr class="changed" data-field="([^"]+)"`)
	mkSameRows    = regexp.MustCompile(`<tr class="same" data-field="([^"]+)"`)
)

// mkVersions is a resource's history as the API gives it to staff, newest
// first.
func mkVersions(t testing.TB, h *apptest.Harness, id string) []map[string]any {
	t.Helper()
	return apiList(t, h, apptest.Staff, "/api/marketplace-resources/"+id+"/history/?page_size=300")
}

// mkVersionWhere is the first version (versions are newest first) whose
// data satisfies ok: the change that made it so.
func mkVersionWhere(t testing.TB, versions []map[string]any, what string, ok func(data map[string]any) bool) map[string]any {
	t.Helper()
	for i := len(versions) - 1; i >= 0; i-- {
		if ok(versions[i]["serialized_data"].(map[string]any)) {
			return versions[i]
		}
	}
	t.Fatalf("no version where %s", what)
	return nil
}

func mkVersionID(v map[string]any) string { return fmt.Sprint(int64(v["id"].(float64))) }

func TestHistoryPages(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		admin := signIn(t, h, "admin", stopAtRedirects)
		support := signIn(t, h, "support", stopAtRedirects)
		alice := signIn(t, h, "alice", stopAtRedirects)
		bob := signIn(t, h, "bob", stopAtRedirects)
		carol := signIn(t, h, "carol", stopAtRedirects)

		seq := mkResourceNamed(t, h, "hpc-sequencing")
		id := hexID(seq["uuid"].(string))
		base := "/console/resources/" + id + "/history/"
		versions := mkVersions(t, h, id)
		if len(versions) < 10 {
			t.Fatalf("demo resource has %d versions, want its demo history", len(versions))
		}
		newest, oldest := versions[0], versions[len(versions)-1]
		renamed := mkVersionWhere(t, versions, "name is hpc-sequencing-2026", func(d map[string]any) bool { return d["name"] == "hpc-sequencing-2026" })
		atPath := base + "at?timestamp=" + url.QueryEscape(renamed["revision_date"].(string))
		compare := base + "compare?a=" + mkVersionID(renamed) + "&b=" + mkVersionID(newest)
		revert := base + mkVersionID(renamed) + "/revert"

		t.Run("regular users get 404", func(t *testing.T) {
			for _, u := range []*consoleClient{alice, bob, carol} {
				for _, p := range []string{base, base + "?field=name", atPath, compare, revert,
					"/console/resources/00000000000000000000000000000000/history/"} {
					u.get(p).want(t, http.StatusNotFound).lack(t, "hpc-sequencing-2026")
				}
				u.submit(revert, nil).want(t, http.StatusNotFound)
				u.get("/console/resources/"+id+"/").want(t, http.StatusOK).lack(t, `id="history-link"`)
			}
		})

		t.Run("timeline", func(t *testing.T) {
			for _, u := range []*consoleClient{admin, support} {
				p := u.get(base).want(t, http.StatusOK)
				got := allMatches(mkVersionRows, p.Body)
				var want []string
				for _, v := range versions[:min(len(versions), 25)] {
					want = append(want, mkVersionID(v))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("timeline %v, want newest first %v", got, want)
				}
				p.need(t, `name="a"`, `name="b"`, `action="/console/resources/`+id+`/history/compare"`, `data-changed="description"`,
					`data-changed="options"`, "Bob Manager", fmt.Sprintf("%d in all", len(versions)))
				if u == support {
					p.lack(t, "revert-link")
				} else {
					p.need(t, `<a class="revert-link" href="`+revert+`">Revert to this</a>`)
					// The newest version is the live state: nothing to revert to.
					p.lack(t, `href="`+base+mkVersionID(newest)+`/revert"`)
				}
			}
			// The first version made the resource; each other row names what changed.
			row := func(body, vid string) string {
				i := strings.Index(body, `<tr data-version="`+vid+`"`)
				j := strings.Index(body[i:], "</tr>")
				return body[i : i+j]
			}
			p := admin.get(base).Body
			if r := row(p, mkVersionID(renamed)); !strings.Contains(r, `data-changed="name"`) || strings.Contains(r, `data-changed="description"`) {
				t.Fatalf("the rename's row should show name changed, only: %s", r)
			}
			if len(versions) <= 25 {
				if r := row(p, mkVersionID(oldest)); !strings.Contains(r, ">created<") {
					t.Fatalf("the first version's row: %s", r)
				}
			}

			// Filters: by field, by time, and refusals of bad values.
			p = admin.get(base+"?field=name").want(t, http.StatusOK).Body
			named := allMatches(mkVersionRows, p)
			if len(named) < 2 || len(named) >= len(versions) {
				t.Fatalf("versions changing name: %v", named)
			}
			for _, v := range named {
				if r := row(p, v); !strings.Contains(r, `data-changed="name"`) && !strings.Contains(r, ">created<") {
					t.Fatalf("field filter kept version %s, which did not change name", v)
				}
			}
			after := strings.TrimSuffix(renamed["revision_date"].(string), "Z")
			p = admin.get(base+"?created_after="+url.QueryEscape(after)).want(t, http.StatusOK).Body
			if got := allMatches(mkVersionRows, p); slices.Contains(got, mkVersionID(renamed)) || !slices.Contains(got, mkVersionID(newest)) {
				t.Fatalf("created_after %s (strict) lists %v", after, got)
			}
			admin.get(base+"?created_before=2000-01-01T00:00").want(t, http.StatusOK).need(t, "No version matches")
			admin.get(base+"?created_after=yesterday").want(t, http.StatusBadRequest).need(t, "created_after")
			admin.get(base+"?field=owner").want(t, http.StatusBadRequest).need(t, "Tracked fields")
			admin.get("/console/resources/00000000000000000000000000000000/history/").want(t, http.StatusNotFound)
		})

		t.Run("state at and compare", func(t *testing.T) {
			for _, u := range []*consoleClient{admin, support} {
				u.get(atPath).want(t, http.StatusOK).need(t, `data-version="`+mkVersionID(renamed)+`"`, "hpc-sequencing-2026",
					`<tr data-field="name">`, `data-utc-target="at-ts"`)
			}
			// Without a zone (the picker without JavaScript) the instant is UTC.
			local := strings.TrimSuffix(renamed["revision_date"].(string), "Z")
			admin.get(base+"at?local="+url.QueryEscape(local)).want(t, http.StatusOK).need(t, `data-version="`+mkVersionID(renamed)+`"`)
			admin.get(base+"at?timestamp=1999-01-01T00:00:00Z").want(t, http.StatusOK).need(t, `id="no-version"`)
			admin.get(base+"at").want(t, http.StatusOK).need(t, "Choose an instant")
			admin.get(base+"at?timestamp=soon").want(t, http.StatusBadRequest)

			p := support.get(compare).want(t, http.StatusOK).need(t, `<table class="diff"`).lack(t, "revert-link")
			if changed := allMatches(mkChangedRows, p.Body); !slices.Contains(changed, "name") || slices.Contains(changed, "state") {
				t.Fatalf("changed rows %v: want name, not state", changed)
			}
			if same := allMatches(mkSameRows, p.Body); !slices.Contains(same, "state") || !slices.Contains(same, "limits.cpu_hours") {
				t.Fatalf("same rows %v: want state and limits.cpu_hours (nested maps key by key)", same)
			}
			// Options compared key by key: alice's then bob's notify settings.
			a := mkVersionWhere(t, versions, "options by alice", func(d map[string]any) bool {
				o, _ := d["options"].(map[string]any)
				return o["notify"] == "alice@example.com"
			})
			b := mkVersionWhere(t, versions, "options by bob", func(d map[string]any) bool {
				o, _ := d["options"].(map[string]any)
				return o["priority"] == "high"
			})
			p = admin.get(base+"compare?a="+mkVersionID(a)+"&b="+mkVersionID(b)).want(t, http.StatusOK)
			changed := allMatches(mkChangedRows, p.Body)
			if !slices.Contains(changed, "options.notify") || !slices.Contains(changed, "options.priority") || slices.Contains(changed, "options") {
				t.Fatalf("options compared key by key: changed %v", changed)
			}
			p.need(t, "(absent)", "bob@example.com", "alice@example.com")
			admin.get(base+"compare?a="+mkVersionID(a)+"&b="+mkVersionID(a)).want(t, http.StatusOK).need(t, "The two versions are the same")
			admin.get(base+"compare?a="+mkVersionID(a)).want(t, http.StatusBadRequest)
			admin.get(base+"compare?a=x&b=1").want(t, http.StatusNotFound)
			// A version of another resource is not this one's.
			other := mkVersions(t, h, hexID(mkResourceNamed(t, h, "hpc-assembly")["uuid"].(string)))[0]
			admin.get(base+"compare?a="+mkVersionID(other)+"&b="+mkVersionID(newest)).want(t, http.StatusNotFound)
		})

		t.Run("revert", func(t *testing.T) {
			// Support reads history but may not revert: the form is hidden.
			support.get(revert).want(t, http.StatusNotFound)
			support.submit(revert, nil).want(t, http.StatusNotFound)

			p := admin.get(revert).want(t, http.StatusOK).need(t, `<button id="confirm-revert" type="submit"`, `<table class="diff"`,
				"hpc-sequencing-2026")
			if changed := allMatches(mkChangedRows, p.Body); !slices.Contains(changed, "name") || slices.Contains(changed, "state") {
				t.Fatalf("revert diff %v: want name, never state", changed)
			}
			// Without the form's token nothing happens.
			admin.post(revert, url.Values{}).want(t, http.StatusForbidden)
			if n := len(mkVersions(t, h, id)); n != len(versions) {
				t.Fatalf("a refused revert left %d versions, want %d", n, len(versions))
			}
			p = admin.submit(revert, nil).want(t, http.StatusSeeOther)
			if p.Location != "/console/resources/"+id+"/" {
				t.Fatalf("revert redirects to %q", p.Location)
			}
			admin.get(p.Location).want(t, http.StatusOK).need(t, "Reverted to version "+mkVersionID(renamed), "hpc-sequencing-2026")
			after := mkVersions(t, h, id)
			if len(after) != len(versions)+1 || after[0]["revision_comment"] != "Reverted to version "+mkVersionID(renamed) {
				t.Fatalf("after the revert: %d versions, newest %v", len(after), after[0]["revision_comment"])
			}
			if got := apiObject(t, h, apptest.Staff, "/api/marketplace-resources/"+id+"/")["name"]; got != "hpc-sequencing-2026" {
				t.Fatalf("reverted name %v", got)
			}
			admin.get(base).want(t, http.StatusOK).need(t, `<tr data-version="`+mkVersionID(after[0])+`"`, "Reverted to version "+mkVersionID(renamed))
			// Nothing left to revert to that version: no button.
			admin.get(revert).want(t, http.StatusOK).need(t, `id="nothing-to-revert"`).lack(t, "confirm-revert")
		})
	})
}
