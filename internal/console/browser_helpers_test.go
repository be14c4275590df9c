package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/heed-dev/heed/internal/apptest"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package) with chromedp: one browser per database, one browser context
// (own cookies, like an incognito window) per subtest.

// brScreenshotsEnv names the directory that receives full-page screenshots
// of every page visited, at desktop and phone widths. Unset: none are taken.
const brScreenshotsEnv = "HEED_SCREENSHOTS"

// brStepTimeout bounds each browser step, so a missing element or a click
// that navigates nowhere fails the test instead of hanging it.
const brStepTimeout = 30 * time.Second

var (
	brDesktop = [2]int64{1280, 800}
	brPhone   = [2]int64{390, 844}
)

// brInCI reports whether the tests run in CI, where a missing browser is a
// failure, not a reason to skip.
func brInCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// brChromium finds Chromium or Chrome. Without one the test skips locally
// and fails in CI.
func brChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HEED_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browser tests need Chromium: none at /usr/bin/chromium or on PATH (Debian: apt-get install chromium; or set HEED_CHROMIUM)"
	if brInCI() {
		t.Fatalf("FAIL: CI is set and %s", msg)
	}
	t.Skip("skipping: " + msg + "; with CI=true this is a failure")
	return ""
}

// brBrowser is one running Chromium for one heed.
type brBrowser struct {
	ctx   context.Context // a chromedp context whose browser runs
	h     *apptest.Harness
	db    string // "sqlite" or "postgres", for screenshot names
	shots string
}

// brStart starts Chromium for the test; it ends with the test.
func brStart(t *testing.T, h *apptest.Harness, execPath string) *brBrowser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Cut the network off: no name resolves but the loopback ones, so a
		// page that needed anything from elsewhere would fail to load it.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(brDesktop[0]), int(brDesktop[1])),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", execPath, err)
	}
	t.Logf("Chromium started in %s", time.Since(start).Round(time.Millisecond))
	b := &brBrowser{ctx: ctx, h: h, db: filepath.Base(t.Name()), shots: os.Getenv(brScreenshotsEnv)}
	if b.shots != "" {
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatalf("screenshot directory: %v", err)
		}
	}
	return b
}

// brTab is one browser context with one tab, as one person at one browser.
// It records what the tab does on the network and in its console.
type brTab struct {
	t   *testing.T
	b   *brBrowser
	ctx context.Context

	mu       sync.Mutex
	requests []string          // every URL the tab asked for
	problems []string          // failed loads, exceptions, console errors
	docs     map[string]string // request id → URL of document requests
	expected map[string]bool   // URLs whose error status the test expects
}

// brNewTab opens a tab in a fresh browser context (its own cookies).
func (b *brBrowser) brNewTab(t *testing.T) *brTab {
	t.Helper()
	tab := &brTab{t: t, b: b, docs: map[string]string{}, expected: map[string]bool{}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tab.record))
	t.Cleanup(cancel)
	tab.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(brDesktop[0], brDesktop[1])); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// record runs in the tab's event loop: it must be quick and run no command.
func (tab *brTab) record(ev any) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tab.requests = append(tab.requests, ev.Request.URL)
		if ev.Type == network.ResourceTypeDocument {
			tab.docs[string(ev.RequestID)] = ev.Request.URL
		}
	case *network.EventLoadingFailed:
		tab.problems = append(tab.problems, fmt.Sprintf("load failed (%s, %s): %s %s", ev.Type, ev.BlockedReason, ev.ErrorText, tab.docs[string(ev.RequestID)]))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		tab.problems = append(tab.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tab.problems = append(tab.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError && e.Level != log.EntryLevelWarning {
			return
		}
		if e.Source == log.EntrySourceNetwork && e.Level == log.EntryLevelError && strings.Contains(e.Text, "the server responded with a status of") {
			// A 403 or 404 page: checked against the expected ones at the end.
			tab.problems = append(tab.problems, "status "+e.URL)
			return
		}
		if e.Level == log.EntryLevelError || e.Source == log.EntrySourceSecurity {
			tab.problems = append(tab.problems, fmt.Sprintf("log %s %s: %s %s", e.Source, e.Level, e.Text, e.URL))
		}
	}
}

// brOffline fails the test if the tab asked for anything outside loopback,
// failed to load something, threw, or logged an error: every page loaded
// with the network cut off. Error statuses the test asked for are fine.
func (tab *brTab) brOffline() {
	tab.t.Helper()
	for _, c := range tab.brComplaints() {
		tab.t.Error(c)
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.t.Logf("%d requests, none outside 127.0.0.1 allowed", len(tab.requests))
}

// brComplaints is what brOffline fails the test for.
func (tab *brTab) brComplaints() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	var out []string
	if len(tab.requests) == 0 {
		out = append(out, "the tab recorded no requests at all: the network listener saw nothing")
	}
	for _, raw := range tab.requests {
		if strings.HasPrefix(raw, "data:") || strings.HasPrefix(raw, "blob:") || raw == "about:blank" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			out = append(out, fmt.Sprintf("request to an unparsable URL %q", raw))
			continue
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			out = append(out, "a request left 127.0.0.1: "+raw)
		}
	}
	for _, p := range tab.problems {
		if u, ok := strings.CutPrefix(p, "status "); ok {
			if !tab.expected[u] {
				out = append(out, "unexpected error status for "+u)
			}
			continue
		}
		out = append(out, "browser problem: "+p)
	}
	return out
}

// brExpectError says the test means to get an error status from path.
func (tab *brTab) brExpectError(path string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.expected[tab.b.h.URL+path] = true
}

func (tab *brTab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tab.ctx, brStepTimeout)
}

// brGo loads path (relative to heed's URL) and returns the document's status.
func (tab *brTab) brGo(path string) int64 {
	tab.t.Helper()
	ctx, cancel := tab.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(tab.b.h.URL+path))
	if err != nil {
		tab.t.Fatalf("load %s: %v", path, err)
	}
	return resp.Status
}

// brClick clicks what sel finds and waits for the page it leads to (after
// any redirects); it returns that document's status.
func (tab *brTab) brClick(sel string) int64 {
	tab.t.Helper()
	tab.brNeed(sel)
	ctx, cancel := tab.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tab.t.Fatalf("click %s on %s: %v", sel, tab.brPath(), err)
	}
	return resp.Status
}

// brNeed fails the test at once, naming the page, if sel finds nothing.
func (tab *brTab) brNeed(sel string) {
	tab.t.Helper()
	if tab.brCount(sel) == 0 {
		tab.t.Fatalf("missing hook: nothing matches %s on %s (h1 %q)", sel, tab.brPath(), tab.brText("h1"))
	}
}

// brEval evaluates a JavaScript expression in the page.
func brEval[T any](tab *brTab, js string) T {
	tab.t.Helper()
	ctx, cancel := tab.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tab.t.Fatalf("evaluate %s on %s: %v", js, tab.brPath(), err)
	}
	return v
}

// brJS quotes s as a JavaScript string literal.
func brJS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (tab *brTab) brCount(sel string) int {
	return brEval[int](tab, "document.querySelectorAll("+brJS(sel)+").length")
}

// brText is the text of the first element sel finds, "" if none.
func (tab *brTab) brText(sel string) string {
	return brEval[string](tab, "(e => e ? e.textContent.replace(/\\s+/g, ' ').trim() : '')(document.querySelector("+brJS(sel)+"))")
}

// brAttrs is attribute attr of every element sel finds, in document order.
func (tab *brTab) brAttrs(sel, attr string) []string {
	return brEval[[]string](tab, "Array.from(document.querySelectorAll("+brJS(sel)+"), e => e.getAttribute("+brJS(attr)+") || '')")
}

// brPath is the path and query of the page shown.
func (tab *brTab) brPath() string {
	ctx, cancel := tab.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown page: " + err.Error() + ")"
	}
	return strings.TrimPrefix(loc, tab.b.h.URL)
}

// brAt fails unless the page shown is path (query ignored unless given).
func (tab *brTab) brAt(path string) {
	tab.t.Helper()
	got := tab.brPath()
	if !strings.Contains(path, "?") {
		got, _, _ = strings.Cut(got, "?")
	}
	if got != path {
		tab.t.Fatalf("at %s, want %s (h1 %q)", got, path, tab.brText("h1"))
	}
}

// brBody is the page's visible text.
func (tab *brTab) brBody() string {
	return tab.brText("body")
}

// brShot saves full-page screenshots of the page at desktop and phone width
// when HEED_SCREENSHOTS names a directory.
func (tab *brTab) brShot(name string) {
	tab.t.Helper()
	if tab.b.shots == "" {
		return
	}
	for _, v := range []struct {
		label string
		size  [2]int64
		opts  []chromedp.EmulateViewportOption
	}{
		{"desktop", brDesktop, nil},
		{"phone", brPhone, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)}},
	} {
		ctx, cancel := tab.step()
		err := chromedp.Do(ctx, chromedp.EmulateViewport(v.size[0], v.size[1], v.opts...))
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		var wide []string
		if err == nil {
			wide, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](brOverflowJS))
		}
		cancel()
		if len(wide) > 0 {
			tab.t.Logf("LAYOUT %s at %s width (%dpx): wider than the window: %s", name, v.label, v.size[0], strings.Join(wide, "; "))
		}
		if err != nil {
			tab.t.Fatalf("screenshot %s %s: %v", name, v.label, err)
		}
		file := filepath.Join(tab.b.shots, fmt.Sprintf("%s-%s-%s.png", tab.b.db, name, v.label))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			tab.t.Fatalf("write screenshot: %v", err)
		}
	}
	ctx, cancel := tab.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(brDesktop[0], brDesktop[1])); err != nil {
		tab.t.Fatalf("reset viewport: %v", err)
	}
}

// brOverflowJS lists what makes the page scroll sideways: the document
// and the outermost elements that reach past the window's right edge.
const brOverflowJS = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	if (document.documentElement.scrollWidth <= w) return out;
	out.push("document " + document.documentElement.scrollWidth + "px");
	for (const el of document.body.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if (r.right > w + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 1)) {
			let d = el.tagName.toLowerCase();
			if (el.id) d += "#" + el.id;
			if (el.classList.length) d += "." + Array.from(el.classList).join(".");
			out.push(d + " to " + Math.round(r.right) + "px");
			if (out.length > 5) break;
		}
	}
	return out;
})()`

// brSignIn signs in through the form and checks where it lands.
func (tab *brTab) brSignIn(username, password string) {
	tab.t.Helper()
	if st := tab.brGo("/console/signin"); st != 200 {
		tab.t.Fatalf("GET /console/signin: status %d", st)
	}
	tab.brNeed("input[name=username]")
	tab.brNeed("input[name=password]")
	ctx, cancel := tab.step()
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), username),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
	)
	cancel()
	if err != nil {
		tab.t.Fatalf("fill in the sign-in form: %v", err)
	}
	if st := tab.brClick("form[action=\"/console/signin\"] button[type=submit]"); st != 200 {
		tab.t.Fatalf("sign in as %s: status %d, h1 %q", username, st, tab.brText("h1"))
	}
	tab.brAt("/console/actions/")
}

// brSignOut signs out with the nav's button and checks the session is over.
func (tab *brTab) brSignOut() {
	tab.t.Helper()
	if st := tab.brClick(`form[action="/console/signout"] button`); st != 200 {
		tab.t.Fatalf("sign out: status %d", st)
	}
	tab.brAt("/console/signin")
	if st := tab.brGo("/console/actions/"); st != 200 {
		tab.t.Fatalf("after signing out, /console/actions/: status %d", st)
	}
	tab.brAt("/console/signin")
}

// brCookie is the value of the tab's cookie name for heed's console.
func (tab *brTab) brCookie(name string) string {
	tab.t.Helper()
	ctx, cancel := tab.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tab.b.h.URL + "/console/"}})
	if err != nil {
		tab.t.Fatalf("get cookies: %v", err)
	}
	i := slices.IndexFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == name })
	if i < 0 {
		tab.t.Fatalf("no %s cookie in the browser", name)
	}
	return res.Cookies[i].Value
}

// brRequested reports whether the tab has asked for a URL containing part.
func (tab *brTab) brRequested(part string) bool {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, u := range tab.requests {
		if strings.Contains(u, part) {
			return true
		}
	}
	return false
}

// brWait lets the page run for d: a poll interval while waiting on a
// condition with a deadline, never a synchronisation by itself.
func (tab *brTab) brWait(d time.Duration) {
	ctx, cancel := tab.step()
	defer cancel()
	_, _ = chromedp.Run(ctx, chromedp.Sleep(d))
}
