package example_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/example"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// TestEternalTokens registers the README's provider on a real heed, as the
// README says to, and follows its actions through the API: detected for
// each owner, revoked by a corrective action, gone at the next detection.
func TestEternalTokens(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		a, err := app.New(ctx, app.Config{DatabaseURL: url, Migrate: true, Logger: slog.New(slog.DiscardHandler),
			DB: db.Config{PostgresMaxConns: 8}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		// Registered before anything serves, as app.New's build does.
		a.Actions.Register(provider.Batch(example.EternalTokens{DB: a.DB}))
		srv := httptest.NewServer(a.Server)
		t.Cleanup(srv.Close)

		user := func(name string, staff bool) {
			t.Helper()
			if _, err := a.Users.CreateUser(ctx, nil, auth.UserInput{Username: &name, IsStaff: &staff}); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
		}
		token := func(name, desc string) string {
			t.Helper()
			tok, err := a.Users.CreateToken(ctx, name, desc)
			if err != nil {
				t.Fatalf("token for %s: %v", name, err)
			}
			return tok
		}
		user("dora", false)
		user("eve", false)
		user("root", true)
		laptop, ci := token("dora", "laptop"), token("dora", "ci")
		eve := token("eve", "backup")
		root := token("root", "ops")
		// ci is old enough to be urgent; eve's login token expires and is
		// not reported.
		exec(t, a.DB, "UPDATE tokens SET created = ? WHERE description = ?", a.DB.Now().AddDate(-2, 0, 0), "ci")
		eveUser, err := a.Users.UserByUsername(ctx, "eve")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.DB.InTx(ctx, func(tx *db.Tx) error {
			return auth.StoreToken(ctx, tx, eveUser.ID, auth.NewTokenSecret(), "session", a.DB.Now().Add(time.Hour))
		}); err != nil {
			t.Fatal(err)
		}

		reports, err := a.Actions.Update(ctx, "eternal_token", nil)
		if err != nil || len(reports) != 1 || reports[0].Err != nil || reports[0].Created != 4 {
			t.Fatalf("Update = %+v, %v; want 4 created (dora 2, eve 1, root 1)", reports, err)
		}

		api := func(method, path, tok string, body any, status int) []byte {
			t.Helper()
			var r io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				r = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(method, srv.URL+path, r)
			req.Header.Set("Authorization", "Token "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != status {
				t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, status)
			}
			return out
		}
		type action struct {
			UUID              string `json:"uuid"`
			ActionType        string `json:"action_type"`
			Title             string `json:"title"`
			Urgency           string `json:"urgency"`
			RelatedObjectType string `json:"related_object_type"`
			CorrectiveActions []struct {
				Label       string `json:"label"`
				APIEndpoint bool   `json:"api_endpoint"`
			} `json:"corrective_actions"`
		}
		list := func(tok string) []action {
			t.Helper()
			var l []action
			if err := json.Unmarshal(api("GET", "/api/user-actions/?action_type=eternal_token", tok, nil, 200), &l); err != nil {
				t.Fatal(err)
			}
			return l
		}

		doras := list(laptop)
		if len(doras) != 2 || doras[0].Title != "API token never expires: ci" || doras[0].Urgency != "high" ||
			doras[1].Title != "API token never expires: laptop" || doras[1].Urgency != "low" {
			t.Fatalf("dora's actions %+v, want ci (high) then laptop (low)", doras)
		}
		ca := doras[0].CorrectiveActions
		if doras[0].RelatedObjectType != "token" || len(ca) != 1 || ca[0].Label != "Revoke Token" || !ca[0].APIEndpoint {
			t.Fatalf("ci action %+v, want one API corrective action, Revoke Token", doras[0])
		}
		if l := list(eve); len(l) != 1 || l[0].Title != "API token never expires: backup" {
			t.Fatalf("eve's actions %+v, want her backup token only", l)
		}

		var providers []struct {
			ActionType string `json:"action_type"`
			IsEnabled  bool   `json:"is_enabled"`
		}
		if err := json.Unmarshal(api("GET", "/api/user-action-providers/", root, nil, 200), &providers); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range providers {
			found = found || (p.ActionType == "eternal_token" && p.IsEnabled)
		}
		if !found {
			t.Fatalf("providers %+v, want eternal_token registered and enabled", providers)
		}

		// Revoking through the action: eve may not, dora may, once.
		execute := "/api/user-actions/" + doras[0].UUID + "/execute_action/"
		revoke := map[string]any{"action_label": "Revoke Token"}
		api("POST", execute, eve, revoke, 404)
		var out struct {
			Action, Message string
		}
		if err := json.Unmarshal(api("POST", execute, laptop, revoke, 200), &out); err != nil {
			t.Fatal(err)
		}
		if out.Action != "completed" || out.Message != "Token revoked." {
			t.Fatalf("execute answered %+v, want completed, Token revoked.", out)
		}
		if _, err := a.Users.Authenticate(ctx, ci); err == nil {
			t.Fatal("the revoked ci token still authenticates")
		}
		failed := api("POST", execute, laptop, revoke, 409)
		if !bytes.Contains(failed, []byte("already revoked")) {
			t.Fatalf("second revoke answered %s, want already revoked", failed)
		}
		var execs []struct {
			Label   string `json:"corrective_action_label"`
			Success bool   `json:"success"`
		}
		if err := json.Unmarshal(api("GET", "/api/user-action-executions/", laptop, nil, 200), &execs); err != nil {
			t.Fatal(err)
		}
		if len(execs) != 2 || execs[0].Success == execs[1].Success {
			t.Fatalf("dora's executions %+v, want one success and one failure", execs)
		}

		// The next detection drops the revoked token's action.
		reports, err = a.Actions.Update(ctx, "eternal_token", nil)
		if err != nil || len(reports) != 1 || reports[0] != (useractions.Report{ActionType: "eternal_token", Deleted: 1, Duration: reports[0].Duration}) {
			t.Fatalf("second Update = %+v, %v; want 1 deleted", reports, err)
		}
		if l := list(laptop); len(l) != 1 || l[0].Title != "API token never expires: laptop" {
			t.Fatalf("dora's actions after the revoke %+v, want laptop only", l)
		}
	})
}

func exec(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	if err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestReadmeShowsThisFile: the README's "Writing a provider" shows this
// provider verbatim, so what readers copy is what the test above exercises.
func TestReadmeShowsThisFile(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("eternal_tokens.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(src)+"```\n") {
		t.Fatal("README.md does not show internal/useractions/example/eternal_tokens.go as it is: copy the file into its Writing a provider section")
	}
	if !strings.Contains(string(readme), "a.Actions.Register(provider.Batch(example.EternalTokens{DB: d}))") {
		t.Fatal("README.md does not show how to register the example provider")
	}
}
