package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/useractions"
)

// summaryLine matches a provider's summary and captures its counts.
var summaryLine = regexp.MustCompile(`^([a-z_]+): (\d+) created, (\d+) updated, (\d+) deleted in [0-9.]+(µs|ms|s)$`)

type counts struct{ created, updated, deleted int }

// summaries parses stdout into each provider's counts, in order, failing on
// any other line.
func summaries(t *testing.T, stdout string) ([]string, map[string]counts) {
	t.Helper()
	var order []string
	out := map[string]counts{}
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		m := summaryLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("stdout line %q is not a provider summary; stdout:\n%s", l, stdout)
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		order = append(order, m[1])
		out[m[1]] = counts{n(2), n(3), n(4)}
	}
	return order, out
}

// actionRows counts stored actions by type, optionally for one user.
func actionRows(t *testing.T, d *db.DB, username string) map[string]int {
	t.Helper()
	q, args := "SELECT ua.action_type, COUNT(*) FROM user_actions ua JOIN users u ON u.id = ua.user_id", []any(nil)
	if username != "" {
		q, args = q+" WHERE u.username = ?", append(args, username)
	}
	rows, err := d.Reader().Query(context.Background(), q+" GROUP BY ua.action_type", args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			at string
			n  int
		)
		if err := rows.Scan(&at, &n); err != nil {
			t.Fatal(err)
		}
		out[at] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func exec1(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	if err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestActionsUpdate runs `heed actions update` on a demo database on each
// engine: what it prints is what it did to the stored actions, --provider
// and --user (and their HEED_* twins) narrow it, a disabled provider is
// skipped, and a failing one fails the command without stopping the others.
func TestActionsUpdate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		heed(t, nil, "demo", "--database-url", url).want(t, 0)
		d := openTestDB(t, url)
		// account_restriction (actioning) has nothing to do: the demo mute is detected already.
		all := []string{"account_restriction", "pending_order", "expiring_resource"}

		// The demo detected its actions already: nothing changes.
		r := heed(t, nil, "actions", "update", "--database-url", url).want(t, 0)
		order, got := summaries(t, r.stdout)
		if strings.Join(order, " ") != strings.Join(all, " ") {
			t.Fatalf("providers %v, want %v", order, all)
		}
		for _, at := range all {
			if got[at] != (counts{}) {
				t.Errorf("%s after the demo's own detection: %+v, want nothing to do", at, got[at])
			}
		}
		demo := actionRows(t, d, "")
		if demo["pending_order"] == 0 || demo["expiring_resource"] == 0 {
			t.Fatalf("demo actions %v, want both types", demo)
		}

		// One provider for one user: only alice's pending orders come back.
		exec1(t, d, "DELETE FROM user_actions")
		r = heed(t, nil, "actions", "update", "--database-url", url, "--provider", "pending_order", "--user", "alice").want(t, 0)
		order, got = summaries(t, r.stdout)
		stored := actionRows(t, d, "")
		alice := actionRows(t, d, "alice")
		if len(order) != 1 || got["pending_order"].created == 0 || got["pending_order"].created != alice["pending_order"] ||
			len(stored) != 1 || stored["pending_order"] != alice["pending_order"] {
			t.Fatalf("--provider pending_order --user alice printed %v and stored %v (alice %v); want alice's pending orders only",
				got, stored, alice)
		}

		// The same through the environment: the rest of the pending orders.
		env := map[string]string{"HEED_DATABASE_URL": url, "HEED_PROVIDER": "pending_order"}
		r = heed(t, env, "actions", "update").want(t, 0)
		order, got = summaries(t, r.stdout)
		if len(order) != 1 || got["pending_order"].created != demo["pending_order"]-alice["pending_order"] {
			t.Fatalf("HEED_PROVIDER=pending_order printed %v, want %d created", got, demo["pending_order"]-alice["pending_order"])
		}

		// Everything: the expiring resources return, the orders stay.
		r = heed(t, nil, "actions", "update", "--database-url", url).want(t, 0)
		_, got = summaries(t, r.stdout)
		if got["pending_order"] != (counts{}) || got["expiring_resource"] != (counts{created: demo["expiring_resource"]}) {
			t.Fatalf("full run printed %v, want only the %d expiring-resource actions created", got, demo["expiring_resource"])
		}
		if after := actionRows(t, d, ""); after["pending_order"] != demo["pending_order"] ||
			after["expiring_resource"] != demo["expiring_resource"] {
			t.Fatalf("stored %v after the full run, want the demo's %v", after, demo)
		}

		// serve's detection settings apply, from flags and HEED_* alike: no
		// demo order has waited 100 hours; disabled, nothing runs.
		r = heed(t, nil, "actions", "update", "--database-url", url, "--provider", "pending_order", "--pending-order-hours", "100").want(t, 0)
		if _, got = summaries(t, r.stdout); got["pending_order"] != (counts{deleted: demo["pending_order"]}) {
			t.Fatalf("--pending-order-hours 100: %v, want all %d pending-order actions deleted", got, demo["pending_order"])
		}
		r = heed(t, map[string]string{"HEED_USER_ACTIONS_ENABLED": "false"}, "actions", "update", "--database-url", url).want(t, 0)
		if r.stdout != "user actions are disabled (--user-actions-enabled=false): nothing detected\n" {
			t.Fatalf("HEED_USER_ACTIONS_ENABLED=false: stdout %q", r.stdout)
		}
		r = heed(t, map[string]string{"HEED_PENDING_ORDER_HOURS": "24"}, "actions", "update", "--database-url", url, "--provider", "pending_order").want(t, 0)
		if _, got = summaries(t, r.stdout); got["pending_order"] != (counts{created: demo["pending_order"]}) {
			t.Fatalf("HEED_PENDING_ORDER_HOURS=24: %v, want the %d pending-order actions back", got, demo["pending_order"])
		}

		// A resolved condition is deleted: every pending order approved
		// behind heed's back.
		exec1(t, d, "UPDATE orders SET state = 'executing' WHERE state = 'pending-consumer'")
		r = heed(t, nil, "actions", "update", "--database-url", url, "--provider", "pending_order").want(t, 0)
		if _, got = summaries(t, r.stdout); got["pending_order"] != (counts{deleted: demo["pending_order"]}) {
			t.Fatalf("after the orders left pending-consumer: %v, want %d deleted", got, demo["pending_order"])
		}

		// A disabled provider is skipped, and says so.
		exec1(t, d, "UPDATE user_action_providers SET is_enabled = ? WHERE action_type = ?", false, "expiring_resource")
		r = heed(t, nil, "actions", "update", "--database-url", url).want(t, 0)
		if !strings.HasSuffix(r.stdout, "\nexpiring_resource: skipped (disabled)\n") {
			t.Fatalf("stdout %q, want expiring_resource skipped (disabled)", r.stdout)
		}
		exec1(t, d, "UPDATE user_action_providers SET is_enabled = ? WHERE action_type = ?", true, "expiring_resource")

		// A provider that fails (an offering's components no longer decode)
		// fails the command; the other provider still runs, and the failure
		// is in the registry row too.
		exec1(t, d, `UPDATE offerings SET components = '[{"type": "cpu_hours", "is_prepaid": "yes"}]'`)
		r = heed(t, nil, "actions", "update", "--database-url", url).want(t, 1)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 3 || !summaryLine.MatchString(lines[0]) || !summaryLine.MatchString(lines[1]) ||
			!strings.HasPrefix(lines[2], "expiring_resource: error: ") || !strings.Contains(lines[2], "is_prepaid") {
			t.Fatalf("stdout %q, want the other providers' summaries and expiring_resource's error", r.stdout)
		}
		if !strings.Contains(r.stderr, "1 of 3 providers failed") {
			t.Fatalf("stderr %q, want the failure counted", r.stderr)
		}
		var status string
		if err := d.Reader().QueryRow(context.Background(),
			"SELECT last_execution_status FROM user_action_providers WHERE action_type = ?", "expiring_resource").Scan(&status); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(status, "ERROR: ") {
			t.Fatalf("registry status %q, want ERROR: …", status)
		}

		// Unknown names exit 1 and say what exists.
		r = heed(t, nil, "actions", "update", "--database-url", url, "--provider", "stale_thing").want(t, 1)
		if r.stdout != "" || !strings.Contains(r.stderr, `unknown provider "stale_thing" (registered: account_restriction, pending_order, expiring_resource)`) {
			t.Fatalf("unknown provider: stdout %q stderr %q", r.stdout, r.stderr)
		}
		r = heed(t, nil, "actions", "update", "--database-url", url, "--user", "nobody").want(t, 1)
		if r.stdout != "" || !strings.Contains(r.stderr, `unknown user "nobody"`) {
			t.Fatalf("unknown user: stdout %q stderr %q", r.stdout, r.stderr)
		}

		// On a terminal each provider's line is drawn in place first.
		exec1(t, d, `UPDATE offerings SET components = '[]'`)
		onTerminal(t, url)
	})
}

// onTerminal runs `heed actions update` as a real process on a pseudo
// terminal (util-linux script), where the progress bar is drawn.
func onTerminal(t *testing.T, url string) {
	t.Helper()
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		t.Log("no script(1): the terminal progress is not checked")
		return
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath, "-qefc",
		strings.Join([]string{quote(os.Args[0]), "actions", "update", "--database-url", quote(url)}, " "), "/dev/null")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEED_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, mainEnv+"=1", "HEED_LOG_LEVEL=warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("heed actions update on a terminal: %v\n%q", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"\r[....................] 1/3 account_restriction |", "\r[######..............] 2/3 pending_order |",
		"\r[#############.......] 3/3 expiring_resource |"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output %q lacks the progress line %q", s, want)
		}
	}
	// The pty turns \n into \r\n; what remains visible of each line is what
	// follows its last \r.
	var visible []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		parts := strings.Split(l, "\r")
		visible = append(visible, strings.TrimRight(parts[len(parts)-1], " "))
	}
	if len(visible) != 3 || !summaryLine.MatchString(visible[0]) || !summaryLine.MatchString(visible[1]) || !summaryLine.MatchString(visible[2]) {
		t.Errorf("terminal shows %q, want three summary lines", visible)
	}
}

func TestActionsUpdateUsageAndMissingDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "heed.db")
	for _, args := range [][]string{
		{"actions"},
		{"actions", "silence"},
		{"actions", "update", "--database-url", missing, "extra"},
		{"actions", "update", "--database-url", missing, "--no-such-flag"},
		{"actions", "update", "--database-url", missing, "--pending-order-hours", "0"},
		{"actions", "update", "--database-url", missing, "--expiration-reminders", "soon"},
	} {
		if r := heed(t, nil, args...); r.code != 2 || r.stdout != "" {
			t.Errorf("heed %s: exit %d stdout %q, want 2 and no output", strings.Join(args, " "), r.code, r.stdout)
		}
	}
	r := heed(t, map[string]string{"HEED_DATABASE_URL": missing}, "actions", "update").want(t, 1)
	if r.stdout != "" || !strings.Contains(r.stderr, "no database at "+missing) {
		t.Errorf("missing database: stdout %q stderr %q, want the missing file named", r.stdout, r.stderr)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("actions update created %s: %v", missing, err)
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &progress{w: &b, tty: true}
	p.redraw("[....] 1/1 pending_order | 1.2s")
	p.line("pending_order: 1 created, 0 updated, 0 deleted in 3ms")
	p.line("after")
	want := "\r[....] 1/1 pending_order | 1.2s" +
		"\rpending_order: 1 created, 0 updated, 0 deleted in 3ms\n" + // longer: nothing to blank
		"after\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	p.redraw("a long progress line")
	p.line("short")
	if want := "\ra long progress line\rshort               \n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}

	b.Reset()
	p = &progress{w: &b}
	p.start(0, 1, "pending_order")()
	p.line(summary(useractions.Report{ActionType: "pending_order", Skipped: true}))
	p.line(summary(useractions.Report{ActionType: "expiring_resource", Err: errors.New("boom")}))
	p.line(summary(useractions.Report{ActionType: "x", Created: 3, Deleted: 1, Duration: 12345 * time.Microsecond}))
	want = "pending_order: skipped (disabled)\nexpiring_resource: error: boom\nx: 3 created, 0 updated, 1 deleted in 12ms\n"
	if b.String() != want {
		t.Errorf("not a terminal: got %q, want %q", b.String(), want)
	}
}
