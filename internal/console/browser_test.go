package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
)

// TestBrowser drives the console in a real headless Chromium, on SQLite and
// (with HEED_TEST_POSTGRES_URL) PostgreSQL: a customer owner works through
// her actions, staff compare and revert a resource's history, and forged
// or foreign requests are refused. Every tab must load everything it shows
// from 127.0.0.1 without a failed load or a script error.
//
// HEED_SCREENSHOTS=dir writes screenshots of each page at desktop and phone
// widths. Without Chromium the test skips, unless CI is set: then it fails.
func TestBrowser(t *testing.T) {
	chromium := brChromium(t)
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		start := time.Now()
		b := brStart(t, h, chromium)
		t.Cleanup(func() { t.Logf("browser tests took %s", time.Since(start).Round(time.Millisecond)) })
		t.Run("alice", func(t *testing.T) { t.Parallel(); brAliceFlow(t, b) })
		t.Run("staff", func(t *testing.T) { t.Parallel(); brStaffFlow(t, b) })
		t.Run("refused", func(t *testing.T) { t.Parallel(); brRefusedFlow(t, b) })
		t.Run("offline-check", func(t *testing.T) { t.Parallel(); brOfflineCheckWorks(t, b) })
		t.Run("tour", func(t *testing.T) { t.Parallel(); brTourFlow(t, b) })
	})
}

// brActions is the caller's actions as the API ranks them.
func brActions(t *testing.T, h *apptest.Harness, token, query string) []map[string]any {
	t.Helper()
	return apiList(t, h, token, "/api/user-actions/?page_size=300"+query)
}

// brHasLabel reports whether the action offers the corrective action label.
func brHasLabel(a map[string]any, label string) bool {
	cas, _ := a["corrective_actions"].([]any)
	for _, c := range cas {
		if m, ok := c.(map[string]any); ok && m["label"] == label {
			return true
		}
	}
	return false
}

// brAliceFlow: sign in, actions ranked as the API ranks them, silence one,
// approve an order, sign out.
func brAliceFlow(t *testing.T, b *brBrowser) {
	h := b.h
	api := brActions(t, h, apptest.Alice, "")
	if len(api) < 3 {
		t.Fatalf("alice has %d actions in the demo data, want at least 3 (one to silence, one to approve, one for the refused posts)", len(api))
	}
	tab := b.brNewTab(t)
	tab.brGo("/console/signin")
	tab.brShot("signin")
	tab.brSignIn("alice", "demo-alice-password")

	// Ranked as the API ranks them.
	tab.brNeed("div.summary")
	rows := tab.brAttrs("tr[data-action]", "data-action")
	want := hexIDs(api)
	if len(rows) < len(want) && tab.brCount("nav.pager") == 0 {
		t.Errorf("the page lists %d actions and has no pager; the API has %d", len(rows), len(want))
	}
	if len(rows) == 0 || len(rows) > len(want) || !slices.Equal(rows, want[:len(rows)]) {
		t.Fatalf("actions on the page (data-action, in order):\n%v\nwant the API's order:\n%v", rows, want)
	}
	tab.brShot("actions")

	// Silence the first action for 7 days: hidden by default, listed with
	// include_silenced.
	silenced := rows[0]
	if st := tab.brClick(`tr[data-action="` + silenced + `"] form[action$="/silence"] button[name=days][value="7"]`); st != 200 {
		t.Fatalf("silence: status %d, h1 %q", st, tab.brText("h1"))
	}
	tab.brAt("/console/actions/")
	if n := tab.brCount(`tr[data-action="` + silenced + `"]`); n != 0 {
		t.Errorf("the silenced action %s is still listed by default", silenced)
	}
	tab.brShot("actions-after-silence")
	a := apiObject(t, h, apptest.Alice, "/api/user-actions/"+silenced+"/?include_silenced=true")
	if a["is_effectively_silenced"] != true || a["silenced_until"] == nil {
		t.Errorf("after silencing for 7 days the API says is_effectively_silenced=%v silenced_until=%v", a["is_effectively_silenced"], a["silenced_until"])
	}
	tab.brGo("/console/actions/?include_silenced=1")
	if n := tab.brCount(`tr[data-action="` + silenced + `"]`); n != 1 {
		t.Errorf("with ?include_silenced=1 the silenced action %s is listed %d times, want once", silenced, n)
	}
	tab.brShot("actions-include-silenced")

	// Approve an order: confirmation page, then the flash, the action gone
	// and the order no longer pending. Its row also links to the order.
	var target map[string]any
	for _, it := range api[1 : len(api)-1] { // the last is the refused flow's
		if brHasLabel(it, "Approve Order") {
			target = it
			break
		}
	}
	if target == nil {
		t.Fatalf("none of alice's actions but the first and the last offers Approve Order")
	}
	approve := hexID(target["uuid"].(string))
	rp, _ := target["route_params"].(map[string]any)
	order, _ := rp["order_uuid"].(string)
	if order == "" {
		t.Fatalf("action %s has no route_params.order_uuid: %v", approve, target["route_params"])
	}
	tab.brGo("/console/actions/")
	nav := `tr[data-action="` + approve + `"] a.corrective[data-label="View Order Details"]`
	tab.brNeed(nav)
	if st := tab.brClick(nav); st != 200 {
		t.Errorf("View Order Details: status %d, h1 %q", st, tab.brText("h1"))
	} else if body := tab.brBody(); !strings.Contains(body, hexID(order)) && !strings.Contains(body, order) && !strings.Contains(tab.brPath(), hexID(order)) {
		t.Errorf("View Order Details led to %s, which does not name order %s", tab.brPath(), order)
	}
	tab.brShot("order")
	tab.brGo("/console/actions/")
	if st := tab.brClick(`tr[data-action="` + approve + `"] button.corrective[data-label="Approve Order"]`); st != 200 {
		t.Fatalf("Approve Order: status %d, h1 %q", st, tab.brText("h1"))
	}
	tab.brNeed("button#confirm-run")
	tab.brShot("run-confirm")
	if st := tab.brClick("button#confirm-run"); st != 200 {
		t.Fatalf("confirm Approve Order: status %d, h1 %q, text %q", st, tab.brText("h1"), tab.brText("main"))
	}
	tab.brAt("/console/actions/")
	if f := tab.brText("p.flash"); !strings.Contains(f, "Order approved.") {
		t.Errorf("flash after Approve Order: %q, want it to contain %q", f, "Order approved.")
	}
	tab.brShot("actions-after-approve")
	if n := tab.brCount(`tr[data-action="` + approve + `"]`); n != 0 {
		t.Errorf("the approved order's action %s is still listed", approve)
	}
	o := apiObject(t, h, apptest.Alice, "/api/marketplace-orders/"+order+"/")
	if o["state"] == "pending-consumer" {
		t.Errorf("order %s is still pending-consumer after Approve Order", order)
	}

	tab.brSignOut()
	tab.brShot("signed-out")
	tab.brOffline()
}

// brStaffFlow: staff open a resource's history, compare two versions and
// revert to one.
func brStaffFlow(t *testing.T, b *brBrowser) {
	h := b.h
	// A resource that may still change (terminated ones may not) and that
	// none of alice's actions is about: the other flows work on those.
	busy := map[string]bool{}
	for _, a := range brActions(t, h, apptest.Alice, "&include_silenced=true") {
		if r, ok := a["resource_uuid"].(string); ok {
			busy[hexID(r)] = true
		}
	}
	list := apiList(t, h, apptest.Staff, "/api/marketplace-resources/?page_size=50")
	i := slices.IndexFunc(list, func(r map[string]any) bool { return r["state"] == "OK" && !busy[hexID(r["uuid"].(string))] })
	if i < 0 {
		t.Fatalf("no resource in state OK that none of alice's actions is about in the demo data")
	}
	res := hexID(list[i]["uuid"].(string))
	origName, _ := list[i]["name"].(string)
	origDesc, _ := list[i]["description"].(string)
	const newName, newDesc = "renamed-by-the-browser-test", "Changed by the browser test."
	apiPath := "/api/marketplace-resources/" + res + "/"
	h.Do(http.MethodPatch, apiPath, apptest.Staff, map[string]any{"name": newName}).Want(t, http.StatusOK)
	h.Do(http.MethodPatch, apiPath, apptest.Staff, map[string]any{"description": newDesc}).Want(t, http.StatusOK)

	tab := b.brNewTab(t)
	tab.brSignIn("admin", "demo-admin-password")

	if st := tab.brGo("/console/resources/"); st != 200 {
		t.Fatalf("/console/resources/: status %d", st)
	}
	tab.brShot("resources")
	page := "/console/resources/" + res + "/"
	if st := tab.brClick(`main a[href="` + page + `"]`); st != 200 {
		t.Fatalf("open %s: status %d", page, st)
	}
	tab.brAt(page)
	if body := tab.brBody(); !strings.Contains(body, newName) || !strings.Contains(body, newDesc) {
		t.Errorf("the resource page does not show the patched name %q and description %q", newName, newDesc)
	}
	tab.brShot("resource")

	history := page + "history/"
	if st := tab.brClick("a#history-link"); st != 200 {
		t.Fatalf("history: status %d", st)
	}
	tab.brAt(history)
	versions := tab.brAttrs("tr[data-version]", "data-version")
	if len(versions) < 3 {
		t.Fatalf("history lists %d versions (tr[data-version]), want at least 3 after two changes: %v", len(versions), versions)
	}
	tab.brShot("history")
	// Newest first: versions[0] has both changes, versions[2] neither.
	older, newer := versions[2], versions[0]

	// Compare through the form.
	tab.brNeed("form [name=a]")
	tab.brNeed("form [name=b]")
	pick := `(function (a, b) {
		for (const [name, v] of [["a", a], ["b", b]]) {
			const els = document.querySelectorAll("form [name=" + name + "]");
			let ok = false;
			for (const el of els) {
				if (el.tagName === "SELECT") { el.value = v; ok = el.value === v; }
				else if (el.value === v) { el.checked = true; ok = true; }
			}
			if (!ok) return "no option " + v + " for " + name;
		}
		return "";
	})(` + brJS(older) + `, ` + brJS(newer) + `)`
	if msg := brEval[string](tab, pick); msg != "" {
		t.Fatalf("compare form: %s", msg)
	}
	submit := `form:has([name=a]) [type=submit]`
	if st := tab.brClick(submit); st != 200 {
		t.Fatalf("compare: status %d, h1 %q", st, tab.brText("h1"))
	}
	tab.brAt(history + "compare")
	cmp, err := url.Parse(tab.brPath())
	if err != nil {
		t.Fatal(err)
	}
	q := cmp.Query()
	if q.Get("a") != older || q.Get("b") != newer {
		t.Errorf("compare query a=%s b=%s, want a=%s b=%s", q.Get("a"), q.Get("b"), older, newer)
	}
	tab.brNeed("table.diff")
	changed := tab.brAttrs("table.diff tr.changed[data-field]", "data-field")
	if !slices.Contains(changed, "name") || !slices.Contains(changed, "description") {
		t.Errorf("compare %s with %s: changed fields %v, want name and description among them", older, newer, changed)
	}
	tab.brShot("compare")

	// Revert to the version before both changes.
	tab.brGo(history)
	link := `tr[data-version="` + older + `"] a.revert-link`
	if href := tab.brAttrs(link, "href"); len(href) != 1 || href[0] != history+older+"/revert" {
		t.Errorf("revert link %v, want %s", href, history+older+"/revert")
	}
	if st := tab.brClick(link); st != 200 {
		t.Fatalf("revert link: status %d", st)
	}
	tab.brNeed("table.diff")
	tab.brShot("revert-confirm")
	if st := tab.brClick("button#confirm-revert"); st != 200 {
		t.Fatalf("confirm revert: status %d, h1 %q, text %q", st, tab.brText("h1"), tab.brText("main"))
	}
	tab.brAt(page)
	if f := tab.brText("p.flash"); !strings.HasPrefix(f, "Reverted to version") {
		t.Errorf("flash after revert: %q, want \"Reverted to version N\"", f)
	}
	body := tab.brBody()
	if !strings.Contains(body, origName) || strings.Contains(body, newName) || strings.Contains(body, newDesc) ||
		(origDesc != "" && !strings.Contains(body, origDesc)) {
		t.Errorf("after reverting, the resource page should show name %q and description %q, not %q or %q", origName, origDesc, newName, newDesc)
	}
	tab.brShot("resource-reverted")
	got := apiObject(t, h, apptest.Staff, apiPath)
	if got["name"] != origName || got["description"] != origDesc {
		t.Errorf("after reverting the API shows name %q description %q, want %q %q", got["name"], got["description"], origName, origDesc)
	}
	tab.brGo(history)
	if after := tab.brAttrs("tr[data-version]", "data-version"); len(after) != len(versions)+1 {
		t.Errorf("history after revert lists %d versions, want %d", len(after), len(versions)+1)
	}
	tab.brShot("history-after-revert")
	tab.brOffline()
}

// brRefusedFlow: a regular user gets 404 for a history page, and form posts
// without the CSRF token are refused, from the browser and from elsewhere.
func brRefusedFlow(t *testing.T, b *brBrowser) {
	h := b.h
	// A script outside the browser posts forms without a token.
	script := newClient(t, h, stopAtRedirects)
	// Sign-in itself carries a token: a bare post is refused.
	signin := script.do(script.form("/console/signin", url.Values{"username": {"alice"}, "password": {"demo-alice-password"}}))
	if signin.Status != http.StatusForbidden {
		t.Errorf("sign-in post without the CSRF token: status %d, want 403", signin.Status)
	}

	tab := b.brNewTab(t)
	tab.brSignIn("alice", "demo-alice-password")

	// History is for staff and support: 404 for alice, on her own resource.
	mine := apiList(t, h, apptest.Alice, "/api/marketplace-resources/?page_size=1")
	if len(mine) == 0 {
		t.Fatalf("alice sees no resources")
	}
	history := "/console/resources/" + hexID(mine[0]["uuid"].(string)) + "/history/"
	tab.brExpectError(history)
	if st := tab.brGo(history); st != http.StatusNotFound {
		t.Errorf("alice on %s: status %d, want 404", history, st)
	}
	if h1 := tab.brText("h1"); h1 != "Not found" {
		t.Errorf("alice on %s: h1 %q, want \"Not found\"", history, h1)
	}
	tab.brShot("history-404")
	// So are the pages under it.
	hist := apiList(t, h, apptest.Staff, "/api/marketplace-resources/"+hexID(mine[0]["uuid"].(string))+"/history/")
	if len(hist) == 0 {
		t.Fatalf("alice's resource has no history")
	}
	id := fmt.Sprint(hist[0]["id"])
	for _, p := range []string{history + "compare?a=" + id + "&b=" + id, history + id + "/revert"} {
		tab.brExpectError(p)
		if st := tab.brGo(p); st != http.StatusNotFound {
			t.Errorf("alice on %s: status %d, want 404", p, st)
		}
	}
	if st := tab.brGo(strings.TrimSuffix(history, "history/")); st != 200 {
		t.Errorf("alice on her resource: status %d", st)
	} else if n := tab.brCount("a#history-link"); n != 0 {
		t.Errorf("alice's resource page links to the history she may not see")
	}

	// The browser posts the silence form without its token: 403, nothing
	// silenced. Take the last action: the other flow works on the first ones.
	tab.brGo("/console/actions/")
	rows := tab.brAttrs("tr[data-action]", "data-action")
	if len(rows) == 0 {
		t.Fatalf("no actions listed for alice")
	}
	victim := rows[len(rows)-1]
	form := `tr[data-action="` + victim + `"] form[action$="/silence"]`
	tab.brNeed(form + " input[name=csrf]")
	action := tab.brAttrs(form, "action")[0]
	brEval[bool](tab, `(document.querySelector(`+brJS(form+" input[name=csrf]")+`).remove(), true)`)
	tab.brExpectError(action)
	if st := tab.brClick(form + ` button[name=days][value="7"]`); st != http.StatusForbidden {
		t.Errorf("silence without the CSRF token: status %d, want 403", st)
	}
	if h1 := tab.brText("h1"); h1 != "Not allowed" {
		t.Errorf("silence without the CSRF token: h1 %q, want \"Not allowed\"", h1)
	}
	if body := tab.brBody(); !strings.Contains(body, "did not come from this site") {
		t.Errorf("silence without the CSRF token: the page does not say the form did not come from this site: %q", tab.brText("main"))
	}
	tab.brShot("csrf-403")
	brNotSilenced(t, h, victim)

	// The same post from outside the browser, with alice's session cookie:
	// without a token, and with a wrong one.
	script.setCookie("heed_session", tab.brCookie("heed_session"))
	for _, v := range []url.Values{{"days": {"7"}}, {"days": {"7"}, "csrf": {strings.Repeat("0", 64)}}} {
		if r := script.do(script.form(action, v)); r.Status != http.StatusForbidden {
			t.Errorf("POST %s %v with the session cookie: status %d, want 403", action, v, r.Status)
		}
	}
	brNotSilenced(t, h, victim)
	tab.brOffline()
}

func brNotSilenced(t *testing.T, h *apptest.Harness, action string) {
	t.Helper()
	a := apiObject(t, h, apptest.Alice, "/api/user-actions/"+action+"/?include_silenced=true")
	if a["is_silenced"] != false || a["silenced_until"] != nil {
		t.Errorf("action %s was silenced by a refused post: is_silenced=%v silenced_until=%v", action, a["is_silenced"], a["silenced_until"])
	}
}

// brOfflineCheckWorks shows the offline check is not vacuous: a page that
// reaches for another host, breaks its CSP or throws is caught.
func brOfflineCheckWorks(t *testing.T, b *brBrowser) {
	tab := b.brNewTab(t)
	tab.brGo("/console/signin")
	brEval[bool](tab, `(() => {
		const img = document.createElement("img");
		img.src = "http://example.com/heed-browser-test.png";
		document.body.append(img);
		setTimeout(() => { throw new Error("heed browser test: thrown on purpose"); }, 0);
		return true;
	})()`)
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = tab.brComplaints()
		all := strings.Join(got, "\n")
		if strings.Contains(all, "left 127.0.0.1: http://example.com/") && strings.Contains(all, "thrown on purpose") {
			return
		}
	}
	t.Errorf("the offline check missed a request to example.com or a thrown error; it found:\n%s", strings.Join(got, "\n"))
}

// brTourFlow opens every kind of console page as staff, the job dashboard
// included, reaching each detail page from its list: each must answer 200
// and load nothing from outside 127.0.0.1, with no error in the browser.
func brTourFlow(t *testing.T, b *brBrowser) {
	tab := b.brNewTab(t)
	tab.brSignIn("admin", "demo-admin-password")
	visit := func(path, shot string) {
		t.Helper()
		if st := tab.brGo(path); st != http.StatusOK {
			t.Fatalf("%s: status %d", path, st)
		}
		tab.brShot("tour-" + shot)
	}
	// first follows the first link in the rows sel finds on list.
	first := func(list, sel, shot string) string {
		t.Helper()
		visit(list, shot+"s")
		hrefs := tab.brAttrs(sel+" a[href]", "href")
		if len(hrefs) == 0 {
			t.Fatalf("%s lists no %s to open", list, sel)
		}
		path := strings.TrimPrefix(hrefs[0], b.h.URL)
		visit(path, shot)
		return path
	}
	visit("/console/actions/", "actions")
	visit("/console/actions/executions/", "executions")
	first("/console/customers/", "tr[data-customer]", "customer")
	first("/console/projects/", "tr[data-project]", "project")
	first("/console/orders/", "tr[data-order]", "order")
	res := first("/console/resources/", "tr[data-resource]", "resource")
	visit(res+"history/", "history")
	visit(res+"history/at?timestamp="+url.QueryEscape(time.Now().UTC().Format(time.RFC3339)), "history-at")
	visit("/console/users/", "users")
	// bob is muted in the demo data: his page lists the action, which
	// has a page of its own.
	visit("/console/users/?q=bob", "users-search")
	bob := tab.brAttrs(`tr[data-user="bob"] a[href]`, "href")
	if len(bob) == 0 {
		t.Fatal("the user search does not find bob")
	}
	first(strings.TrimPrefix(bob[0], b.h.URL), "tr[data-instance]", "user-action")
	visit("/console/events/", "events")
	if ev := tab.brAttrs("tr[data-event] a[href]", "href"); len(ev) > 0 {
		visit(strings.TrimPrefix(ev[0], b.h.URL), "event")
	}
	// River's dashboard is a script-built page: wait until its script has
	// asked its API for data, then judge what it loaded.
	if st := tab.brGo("/console/jobs/"); st != http.StatusOK {
		t.Fatalf("/console/jobs/: status %d", st)
	}
	deadline := time.Now().Add(brStepTimeout)
	for !tab.brRequested("/console/jobs/api/") || !strings.Contains(tab.brBody(), "Jobs") {
		if time.Now().After(deadline) {
			t.Fatalf("the job dashboard did not render from its API; it shows %q", tab.brBody())
		}
		tab.brWait(50 * time.Millisecond)
	}
	tab.brShot("tour-jobs")
	tab.brOffline()
}
