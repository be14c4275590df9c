package history_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
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

// checkChain verifies that versions (oldest first) form one chain of single-
// field changes, each diffed against the one before it, ending in the live
// state: nothing was lost or computed against a stale row.
func checkChain(t *testing.T, h *apptest.Harness, id string, prev version, vs []version) {
	t.Helper()
	for i, v := range vs {
		if v.RevisionDate.Before(prev.RevisionDate) || v.ID <= prev.ID {
			t.Errorf("version %d (%s) follows %d (%s): revision dates and ids must rise together (commit order)",
				v.ID, v.RevisionDate, prev.ID, prev.RevisionDate)
		}
		d := getDiff(t, h, consumerPrefix, id, v.ID, "")
		if d.ComparedTo == nil || *d.ComparedTo != prev.ID || len(d.Changes) != 1 {
			t.Errorf("version %d (#%d, %q): diff against %v has changes %+v; want exactly one field against %d",
				v.ID, i, v.RevisionComment, d.ComparedTo, d.Changes, prev.ID)
		}
		prev = v
	}
	live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	newest := versionsOf(t, h, consumerPrefix, id)[0]
	if newest.ID != prev.ID || !sameJSON(newest.SerializedData, liveSnapshot(live)) {
		t.Errorf("newest version %d %v; live resource %v", newest.ID, newest.SerializedData, liveSnapshot(live))
	}
}

var _ = register("ConcurrentRenewsLoseNothing", func(t *testing.T, h *apptest.Harness) {
	const n = 16
	fx := demoFixture(t, h)
	_, id := okResource(t, h, fx, "history-renew-race")
	// A known end date in the future: each renewal adds one day to it.
	initial := addDays(t, time.Now().UTC().Format(marketplace.DateLayout), 30)
	edit(t, h, id, map[string]any{"end_date": initial})
	before := versionsOf(t, h, consumerPrefix, id)

	calls := make([]call, n)
	for i := range calls {
		calls[i] = call{"POST", consumerPrefix + id + "/renew/", apptest.Alice, map[string]any{"extension_days": 1}}
	}
	ok := 0
	for _, o := range concurrently(h, calls) {
		switch {
		case o.err != nil:
			t.Errorf("renew: %v", o.err)
		case o.status == 200:
			ok++
		default:
			t.Errorf("renew: %d %s", o.status, o.body)
		}
	}
	if ok == 0 {
		t.Fatal("no renewal succeeded")
	}
	live := h.Do("GET", consumerPrefix+id+"/", apptest.Staff, nil).Want(t, 200).Object(t)
	if want := addDays(t, initial, ok); live["end_date"] != want {
		t.Errorf("after %d successful renewals of %s by one day: end_date %v, want %s (lost update)", ok, initial, live["end_date"], want)
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	if len(fresh) != ok {
		t.Fatalf("%d successful renewals made %d versions, want one each", ok, len(fresh))
	}
	for i, v := range fresh {
		want := addDays(t, initial, i+1)
		if v.SerializedData["end_date"] != want || v.RevisionComment != "End date changed to "+want || v.username() != "alice" {
			t.Errorf("version #%d in commit order: end_date %v, %q by %s; want %s (strictly one day more each)",
				i, v.SerializedData["end_date"], v.RevisionComment, v.username(), want)
		}
	}
	checkChain(t, h, id, before[0], fresh)
})

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
	for _, o := range concurrently(h, calls) {
		if o.err != nil || o.status != 200 {
			t.Errorf("%s %s: %d %s %v", o.method, o.path, o.status, o.body, o.err)
		}
	}
	fresh := newVersions(before, versionsOf(t, h, consumerPrefix, id))
	if len(fresh) != len(calls) {
		t.Fatalf("%d changes made %d versions, want one each", len(calls), len(fresh))
	}
	renewals := 0
	for _, v := range fresh {
		switch {
		case strings.HasPrefix(v.RevisionComment, "End date changed to "):
			renewals++
			if want := addDays(t, initial, renewals); v.SerializedData["end_date"] != want {
				t.Errorf("renewal #%d: end_date %v, want %s", renewals, v.SerializedData["end_date"], want)
			}
		case strings.HasPrefix(v.RevisionComment, "Slug changed to "):
			if slug := strings.TrimPrefix(v.RevisionComment, "Slug changed to "); v.SerializedData["slug"] != slug {
				t.Errorf("%q: slug %v", v.RevisionComment, v.SerializedData["slug"])
			}
		case v.RevisionComment == "Resource updated":
			if d, _ := v.SerializedData["description"].(string); !strings.HasPrefix(d, "description ") {
				t.Errorf("update version has description %q", d)
			}
		default:
			t.Errorf("unexpected version %q", v.RevisionComment)
		}
	}
	if renewals != 5 {
		t.Errorf("%d renewal versions, want 5", renewals)
	}
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
