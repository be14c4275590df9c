package useractions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// The engine's own rules, on the Service and a bare database: no HTTP, no
// marketplace. The providers here are Waldur's test provider (one action
// per user, about that user) written both ways heed allows: per user
// (through provider.Batch) and set-based.

// engineEnv is a user-actions service on a fresh database whose clock the
// test moves.
type engineEnv struct {
	d     *db.DB
	svc   *useractions.Service
	clock *uaClock
	staff *auth.User
}

func eachEngine(t *testing.T, settings useractions.Settings, fn func(t *testing.T, e *engineEnv)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, url string) {
		clock := newUAClock()
		d := dbtest.Open(t, url, dbtest.Options{Clock: clock.Now})
		e := &engineEnv{d: d, svc: useractions.New(d, nil, settings, slog.New(slog.DiscardHandler)), clock: clock}
		yes := true
		e.staff = e.user(t, "staff", &yes)
		fn(t, e)
	})
}

func (e *engineEnv) user(t testing.TB, name string, staff *bool) *auth.User {
	t.Helper()
	email := name + "@example.com"
	u, err := (&auth.Service{DB: e.d}).CreateUser(context.Background(), nil, auth.UserInput{Username: &name, Email: &email, IsStaff: staff})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func (e *engineEnv) update(t testing.TB, actionType string, users ...int64) map[string]useractions.Report {
	t.Helper()
	var scope []int64
	if len(users) > 0 {
		scope = users
	}
	reports, err := e.svc.Update(context.Background(), actionType, scope)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	out := map[string]useractions.Report{}
	for _, r := range reports {
		out[r.ActionType] = r
	}
	return out
}

// wantCounts requires a report's created, updated and deleted counts.
func wantCounts(t testing.TB, r useractions.Report, created, updated, deleted int) {
	t.Helper()
	if r.Err != nil || r.Skipped || r.Created != created || r.Updated != updated || r.Deleted != deleted {
		t.Fatalf("%s: created %d updated %d deleted %d (skipped %v, err %v), want %d/%d/%d",
			r.ActionType, r.Created, r.Updated, r.Deleted, r.Skipped, r.Err, created, updated, deleted)
	}
}

// mine lists u's actions, silenced ones too.
func (e *engineEnv) mine(t testing.TB, u *auth.User) []*useractions.Action {
	t.Helper()
	list, _, err := e.svc.List(context.Background(), u, useractions.Filter{IncludeSilenced: true}, db.Page{Limit: 300})
	if err != nil {
		t.Fatalf("list %s: %v", u.Username, err)
	}
	return list
}

func (e *engineEnv) one(t testing.TB, u *auth.User) *useractions.Action {
	t.Helper()
	list := e.mine(t, u)
	if len(list) != 1 {
		t.Fatalf("%s has %d actions, want 1", u.Username, len(list))
	}
	return list[0]
}

func (e *engineEnv) registry(t testing.TB) map[string]*useractions.ProviderInfo {
	t.Helper()
	list, _, err := e.svc.Providers(context.Background(), e.staff, db.Page{Limit: 300})
	if err != nil {
		t.Fatalf("providers: %v", err)
	}
	out := map[string]*useractions.ProviderInfo{}
	for _, p := range list {
		out[p.ActionType] = p
	}
	return out
}

// spec is what the test provider reports for one user.
type spec struct {
	title   string
	urgency provider.Urgency
	due     *time.Time
	// about is the user the action is about (default: the user itself).
	about int64
}

// perUserProvider is Waldur's TestProvider in the seed's per-user shape:
// affected users are those it has a spec for.
type perUserProvider struct {
	typ string
	mu  sync.Mutex
	by  map[int64]spec
	// fail makes every call fail.
	fail error
	// calls counts ActionsForUser calls.
	calls int
}

func newPerUser(typ string) *perUserProvider { return &perUserProvider{typ: typ, by: map[int64]spec{}} }

func (p *perUserProvider) set(u *auth.User, s spec) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.by[u.ID] = s
}

func (p *perUserProvider) clear(u *auth.User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.by, u.ID)
}

func (p *perUserProvider) ActionType() string  { return p.typ }
func (p *perUserProvider) DisplayName() string { return "Test " + p.typ }

func (p *perUserProvider) AffectedUsers(context.Context, db.Conn, time.Time) ([]int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	var out []int64
	for id := range p.by {
		out = append(out, id)
	}
	return out, nil
}

func (p *perUserProvider) ActionsForUser(_ context.Context, _ db.Conn, _ time.Time, u *auth.User) ([]provider.Action, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	s, ok := p.by[u.ID]
	if !ok {
		return nil, nil
	}
	title := s.title
	if title == "" {
		title = "Test action for " + u.Username
	}
	urg := s.urgency
	if urg == "" {
		urg = provider.Medium
	}
	about := s.about
	if about == 0 {
		about = u.ID
	}
	return []provider.Action{{Object: provider.ObjectRef{Type: "user", ID: about}, RelatedObjectName: u.Username,
		Title: title, Urgency: urg, DueDate: s.due}}, nil
}

func (p *perUserProvider) CorrectiveActions(context.Context, db.Conn, *auth.User, provider.ObjectRef) ([]provider.CorrectiveAction, error) {
	return []provider.CorrectiveAction{
		provider.Navigate("View User", provider.View, provider.Safe, "users.details", nil),
		provider.Navigate("Send Email", provider.Contact, provider.Safe, "users.email", nil),
	}, nil
}

func (p *perUserProvider) Execute(context.Context, *auth.User, provider.Target, provider.CorrectiveAction, map[string]any) (provider.Result, error) {
	return provider.Result{}, errors.New("nothing to execute")
}

// setProvider is the same provider written set-based, reporting objects
// in the users table so that dangling actions can be found.
type setProvider struct {
	typ     string
	mu      sync.Mutex
	actions []provider.Action
	fail    error
}

func (p *setProvider) ActionType() string              { return p.typ }
func (p *setProvider) DisplayName() string             { return "Set " + p.typ }
func (p *setProvider) ObjectTables() map[string]string { return map[string]string{"user": "users"} }

func (p *setProvider) report(acts ...provider.Action) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.actions = acts
}

func (p *setProvider) failWith(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

func (p *setProvider) Detect(context.Context, db.Conn, time.Time, provider.Scope) ([]provider.Action, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	return append([]provider.Action(nil), p.actions...), nil
}

func (p *setProvider) Execute(context.Context, *auth.User, provider.Target, provider.CorrectiveAction, map[string]any) (provider.Result, error) {
	return provider.Result{}, nil
}

func about(u, obj *auth.User, title string) provider.Action {
	return provider.Action{UserID: u.ID, Object: provider.ObjectRef{Type: "user", ID: obj.ID}, Title: title, Urgency: provider.Low}
}

// TestUserActionEngineDetection: detection upserts on (user, type, object):
// a new condition creates a row, a changed one updates it in place (uuid
// and created stay, modified moves, silence is kept), an unchanged one is
// not written at all, a cleared one is deleted; when it comes back it is a
// fresh, unsilenced row.
func TestUserActionEngineDetection(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		p := newPerUser("test_action")
		e.svc.Register(provider.Batch(p))
		u1, u2, u3 := e.user(t, "u1", nil), e.user(t, "u2", nil), e.user(t, "u3", nil)
		for _, u := range []*auth.User{u1, u2, u3} {
			p.set(u, spec{})
		}
		wantCounts(t, e.update(t, "")["test_action"], 3, 0, 0)

		// Waldur's test_get_actions_for_user and test_get_corrective_actions.
		a1 := e.one(t, u1)
		if a1.Title != "Test action for u1" || a1.Urgency != provider.Medium || a1.ActionType != "test_action" ||
			a1.Object != (provider.ObjectRef{Type: "user", ID: u1.ID}) || a1.UserID != u1.ID {
			t.Fatalf("u1's action: %+v", a1)
		}
		cas, err := a1.Corrective()
		if err != nil || len(cas) != 2 || cas[0].Label != "View User" || cas[0].Category != provider.View ||
			cas[1].Label != "Send Email" || cas[1].Category != provider.Contact || cas[1].Severity != provider.Safe {
			t.Fatalf("corrective actions %+v (%v)", cas, err)
		}
		if a1.IsEffectivelySilenced(e.clock.Now()) || !a1.Created.Equal(uaEpoch) || !a1.Modified.Equal(uaEpoch) {
			t.Fatalf("new action: silenced %v, created %s, modified %s", a1.IsEffectivelySilenced(e.clock.Now()), a1.Created, a1.Modified)
		}
		// Registered per user, the registry still names the provider.
		if got := e.registry(t)["test_action"].ProviderClass; got != "useractions_test.perUserProvider" {
			t.Errorf("provider_class %q, want useractions_test.perUserProvider", got)
		}

		t.Run("an unchanged action is not written", func(t *testing.T) {
			e.clock.Advance(time.Hour)
			wantCounts(t, e.update(t, "")["test_action"], 0, 0, 0)
			if a := e.one(t, u1); a.UUID != a1.UUID || !a.Modified.Equal(a1.Modified) {
				t.Fatalf("after a run that changed nothing: %s modified %s, was %s modified %s", a.UUID, a.Modified, a1.UUID, a1.Modified)
			}
		})

		t.Run("a changed action is updated in place and keeps its silence", func(t *testing.T) {
			// u1 silenced for good, u2 for a week.
			if err := e.svc.Silence(ctx, u1, a1.UUID, nil); err != nil {
				t.Fatal(err)
			}
			week := 7
			a2 := e.one(t, u2)
			if err := e.svc.Silence(ctx, u2, a2.UUID, &week); err != nil {
				t.Fatal(err)
			}
			silencedAt := e.clock.Now()
			now := e.clock.Advance(time.Hour)
			due := now.Add(48 * time.Hour)
			p.set(u1, spec{title: "Changed", urgency: provider.High, due: &due})
			p.set(u2, spec{urgency: provider.Low})
			wantCounts(t, e.update(t, "")["test_action"], 0, 2, 0)
			a := e.one(t, u1)
			if a.UUID != a1.UUID || !a.Created.Equal(a1.Created) || !a.Modified.Equal(now) {
				t.Fatalf("updated action: uuid %s created %s modified %s; was %s created %s, now %s", a.UUID, a.Created, a.Modified, a1.UUID, a1.Created, now)
			}
			if a.Title != "Changed" || a.Urgency != provider.High || a.DueDate == nil || !a.DueDate.Equal(due) {
				t.Fatalf("updated action: %q %s due %v", a.Title, a.Urgency, a.DueDate)
			}
			if !a.IsSilenced || a.SilencedAt == nil || !a.SilencedAt.Equal(silencedAt) {
				t.Fatalf("re-detection lifted u1's permanent silence: %+v", a)
			}
			b := e.one(t, u2)
			if b.UUID != a2.UUID || b.Urgency != provider.Low || b.SilencedUntil == nil ||
				!b.SilencedUntil.Equal(silencedAt.AddDate(0, 0, 7)) || !b.IsTemporarilySilenced(now) {
				t.Fatalf("re-detection changed u2's temporary silence: %+v", b)
			}
			// u3's did not change, so it was not written.
			if c := e.one(t, u3); !c.Modified.Equal(uaEpoch) {
				t.Fatalf("u3's unchanged action modified at %s", c.Modified)
			}
		})

		t.Run("a cleared action is deleted and comes back fresh", func(t *testing.T) {
			silenced := e.one(t, u1)
			p.clear(u1)
			wantCounts(t, e.update(t, "")["test_action"], 0, 0, 1)
			if n := len(e.mine(t, u1)); n != 0 {
				t.Fatalf("u1 still has %d actions", n)
			}
			now := e.clock.Advance(time.Hour)
			p.set(u1, spec{})
			wantCounts(t, e.update(t, "")["test_action"], 1, 0, 0)
			a := e.one(t, u1)
			if a.UUID == silenced.UUID || a.IsSilenced || a.SilencedAt != nil || !a.Created.Equal(now) {
				t.Fatalf("the condition came back as %+v; the deleted one was %s", a, silenced.UUID)
			}
		})

		t.Run("a run for some users touches only theirs", func(t *testing.T) {
			before1 := e.one(t, u1)
			e.clock.Advance(time.Hour)
			p.set(u1, spec{title: "u1 again"})
			p.set(u3, spec{title: "u3 again"})
			p.clear(u2)
			p.mu.Lock()
			calls := p.calls
			p.mu.Unlock()
			wantCounts(t, e.update(t, "test_action", u3.ID)["test_action"], 0, 1, 0)
			p.mu.Lock()
			calls = p.calls - calls
			p.mu.Unlock()
			if calls != 1 {
				t.Errorf("a run for u3 asked the per-user provider %d times, want once", calls)
			}
			if a := e.one(t, u1); a.Title != before1.Title || !a.Modified.Equal(before1.Modified) {
				t.Fatalf("u1's action changed by a run for u3: %+v", a)
			}
			if a := e.one(t, u3); a.Title != "u3 again" {
				t.Fatalf("u3's action: %q", a.Title)
			}
			if n := len(e.mine(t, u2)); n != 1 {
				t.Fatalf("u2 has %d actions after a run for u3, want the 1 it had", n)
			}
		})
	})
}

// TestUserActionEngineProviderFailure: a provider whose detection fails
// leaves its actions as they were, does not stop the providers after it,
// and its registry row says ERROR with the reason.
func TestUserActionEngineProviderFailure(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		u := e.user(t, "u", nil)
		alpha, broken, omega := newPerUser("alpha"), &setProvider{typ: "broken"}, &setProvider{typ: "omega"}
		e.svc.Register(provider.Batch(alpha))
		e.svc.Register(broken)
		e.svc.Register(omega)
		alpha.set(u, spec{})
		broken.report(about(u, u, "kept"))
		omega.report(about(u, u, "first"))
		reports := e.update(t, "")
		for _, typ := range []string{"alpha", "broken", "omega"} {
			wantCounts(t, reports[typ], 1, 0, 0)
		}

		ran := e.clock.Advance(time.Hour)
		broken.failWith(errors.New("the backend is on fire"))
		alpha.set(u, spec{title: "alpha changed"})
		omega.report(about(u, u, "second"))
		reports = e.update(t, "")
		if r := reports["broken"]; r.Err == nil || !strings.Contains(r.Err.Error(), "the backend is on fire") {
			t.Fatalf("broken's report: %+v", r)
		}
		wantCounts(t, reports["alpha"], 0, 1, 0)
		wantCounts(t, reports["omega"], 0, 1, 0)
		got := map[string]string{}
		for _, a := range e.mine(t, u) {
			got[a.ActionType] = a.Title
		}
		if want := map[string]string{"alpha": "alpha changed", "broken": "kept", "omega": "second"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("actions after the failed run %v, want %v", got, want)
		}
		reg := e.registry(t)
		if st := reg["broken"].LastExecutionStatus; !strings.HasPrefix(st, "ERROR: ") || !strings.Contains(st, "the backend is on fire") {
			t.Errorf("broken's status %q", st)
		}
		for _, typ := range []string{"alpha", "broken", "omega"} {
			if p := reg[typ]; p.LastExecution == nil || !p.LastExecution.Equal(ran) {
				t.Errorf("%s last ran %v, want %s", typ, p.LastExecution, ran)
			}
		}
		if st := reg["omega"].LastExecutionStatus; st != "COMPLETED: 0 created, 1 updated, 0 deleted" {
			t.Errorf("omega's status %q", st)
		}

		// A per-user provider failing is reported the same way.
		alpha.mu.Lock()
		alpha.fail = errors.New("no users today")
		alpha.mu.Unlock()
		if r := e.update(t, "")["alpha"]; r.Err == nil || !strings.Contains(e.registry(t)["alpha"].LastExecutionStatus, "no users today") {
			t.Fatalf("alpha's report %+v, status %q", r, e.registry(t)["alpha"].LastExecutionStatus)
		}
		if n := len(e.mine(t, u)); n != 3 {
			t.Fatalf("%d actions after two failures, want the 3 there were", n)
		}
	})
}

// TestUserActionEngineDisabledProvider: a provider a staff member disabled
// is not run, neither by a detection run nor on a change (Redetect); its
// actions stay as they were. Only staff may toggle it.
func TestUserActionEngineDisabledProvider(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		u := e.user(t, "u", nil)
		on, off := &setProvider{typ: "on"}, &setProvider{typ: "off"}
		e.svc.Register(on)
		e.svc.Register(off)
		on.report(about(u, u, "on 1"))
		off.report(about(u, u, "off 1"))
		e.update(t, "")
		id := e.registry(t)["off"].ID
		if _, err := e.svc.SetProviderEnabled(ctx, u, id, false); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a user disabled a provider: %v", err)
		}
		p, err := e.svc.SetProviderEnabled(ctx, e.staff, id, false)
		if err != nil || p.IsEnabled {
			t.Fatalf("disable: %+v, %v", p, err)
		}
		lastRun := p.LastExecution

		e.clock.Advance(time.Hour)
		on.report(about(u, u, "on 2"))
		off.report(about(u, u, "off 2"))
		reports := e.update(t, "")
		if r := reports["off"]; !r.Skipped || r.Created+r.Updated+r.Deleted != 0 {
			t.Fatalf("the disabled provider's report: %+v", r)
		}
		wantCounts(t, reports["on"], 0, 1, 0)
		err = e.d.InTx(ctx, func(tx *db.Tx) error {
			return e.svc.Redetect(ctx, tx, []provider.ObjectRef{{Type: "user", ID: u.ID}})
		})
		if err != nil {
			t.Fatal(err)
		}
		titles := map[string]string{}
		for _, a := range e.mine(t, u) {
			titles[a.ActionType] = a.Title
		}
		if titles["off"] != "off 1" || titles["on"] != "on 2" {
			t.Fatalf("actions %v: the disabled provider ran, or the enabled one did not", titles)
		}
		if p := e.registry(t)["off"]; p.IsEnabled || p.LastExecution == nil || !p.LastExecution.Equal(*lastRun) {
			t.Fatalf("the disabled provider's row: %+v", p)
		}

		// Enabled again, it runs again.
		if _, err := e.svc.SetProviderEnabled(ctx, e.staff, id, true); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, e.update(t, "")["off"], 0, 1, 0)
		if _, err := e.svc.SetProviderEnabled(ctx, e.staff, 999999, true); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("enable a provider that does not exist: %v", err)
		}
		if _, err := e.svc.Update(ctx, "nonexistent", nil); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("update of an unknown provider: %v", err)
		}
	})
}

// TestUserActionEngineDisabledFeature: with the feature disabled
// (Settings.Enabled false) nothing is detected, by runs or on changes.
func TestUserActionEngineDisabledFeature(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.Settings{Enabled: false}, func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		u := e.user(t, "u", nil)
		p := &setProvider{typ: "p"}
		e.svc.Register(p)
		p.report(about(u, u, "never"))
		if reports, err := e.svc.Update(ctx, "", nil); err != nil || len(reports) != 0 {
			t.Fatalf("disabled feature ran: %v, %v", reports, err)
		}
		err := e.d.InTx(ctx, func(tx *db.Tx) error {
			return e.svc.Redetect(ctx, tx, []provider.ObjectRef{{Type: "user", ID: u.ID}})
		})
		if err != nil || len(e.mine(t, u)) != 0 {
			t.Fatalf("disabled feature detected on a change: %v, %d actions", err, len(e.mine(t, u)))
		}
	})
}

// TestUserActionEngineCleanups: the periodic housekeeping. Dangling actions
// (the object is gone, the action type no longer provided, the user
// deactivated), temporary silences that have ended, and executions past
// their retention.
func TestUserActionEngineCleanups(t *testing.T) {
	t.Parallel()
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		u1, u2, u3, u4 := e.user(t, "u1", nil), e.user(t, "u2", nil), e.user(t, "u3", nil), e.user(t, "u4", nil)
		kept, retired := &setProvider{typ: "kept"}, &setProvider{typ: "retired"}
		e.svc.Register(kept)
		e.svc.Register(retired)
		// Waldur's test_user_deletion_cleanup_workflow: u1 has actions about
		// u2 and u3; u2 and u4 have actions about themselves.
		kept.report(about(u1, u2, "about u2"), about(u1, u3, "about u3"), about(u2, u2, "u2's own"), about(u4, u4, "u4's own"))
		retired.report(about(u3, u3, "retired"))
		e.update(t, "")

		t.Run("dangling actions", func(t *testing.T) {
			if n, err := e.svc.CleanupDangling(ctx); err != nil || n != 0 {
				t.Fatalf("nothing dangles yet, cleanup deleted %d (%v)", n, err)
			}
			// u2 is deleted: its own actions go with it, u1's about it dangle.
			mustExec(t, e.d, "DELETE FROM users WHERE id = ?", u2.ID)
			// u4 is deactivated.
			mustExec(t, e.d, "UPDATE users SET is_active = ? WHERE id = ?", false, u4.ID)
			// A service where "retired" is no longer provided.
			later := useractions.New(e.d, nil, useractions.DefaultSettings(), slog.New(slog.DiscardHandler))
			later.Register(kept)
			n, err := later.CleanupDangling(ctx)
			if err != nil || n != 3 {
				t.Fatalf("cleanup deleted %d (%v), want 3: about u2, u4's own, retired", n, err)
			}
			var left []string
			for _, u := range []*auth.User{u1, u3, u4} {
				for _, a := range e.mine(t, u) {
					left = append(left, u.Username+": "+a.Title)
				}
			}
			if fmt.Sprint(left) != "[u1: about u3]" {
				t.Fatalf("left %v", left)
			}
			if n, err := later.CleanupDangling(ctx); err != nil || n != 0 {
				t.Fatalf("second cleanup deleted %d (%v)", n, err)
			}
		})

		t.Run("expired silences", func(t *testing.T) {
			kept.report(about(u1, u1, "a"), about(u1, u3, "b"), about(u3, u3, "c"))
			e.update(t, "kept")
			list := e.mine(t, u1)
			one, two := 1, 3
			if err := e.svc.Silence(ctx, u1, list[0].UUID, &one); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Silence(ctx, u1, list[1].UUID, &two); err != nil {
				t.Fatal(err)
			}
			forGood := e.one(t, u3)
			if err := e.svc.Silence(ctx, u3, forGood.UUID, nil); err != nil {
				t.Fatal(err)
			}
			if n, err := e.svc.CleanupExpiredSilences(ctx); err != nil || n != 0 {
				t.Fatalf("no silence has ended, cleanup cleared %d (%v)", n, err)
			}
			now := e.clock.Advance(2 * 24 * time.Hour)
			n, err := e.svc.CleanupExpiredSilences(ctx)
			if err != nil || n != 1 {
				t.Fatalf("cleanup cleared %d silences (%v), want the one that ended", n, err)
			}
			for _, a := range e.mine(t, u1) {
				switch a.UUID {
				case list[0].UUID:
					if a.SilencedUntil != nil || a.SilencedAt == nil || a.IsEffectivelySilenced(now) {
						t.Errorf("ended silence after cleanup: until %v, at %v", a.SilencedUntil, a.SilencedAt)
					}
				case list[1].UUID:
					if a.SilencedUntil == nil || !a.IsTemporarilySilenced(now) {
						t.Errorf("running silence cleared: %+v", a)
					}
				}
			}
			if a := e.one(t, u3); !a.IsSilenced {
				t.Errorf("permanent silence cleared")
			}
		})

		t.Run("old executions", func(t *testing.T) {
			// kept's actions now offer a navigation to execute.
			e.svc.Register(&navProvider{setProvider: kept})
			kept.report(about(u1, u1, "a"))
			e.update(t, "kept")
			a := e.one(t, u1)
			if out, err := e.svc.Execute(ctx, u1, a.UUID, "", nil); errs.KindOf(err) != errs.Invalid {
				t.Fatalf("blank label: %+v, %v", out, err)
			}
			if n := len(e.executions(t, u1)); n != 0 {
				t.Fatalf("a refused label left %d executions", n)
			}
			old := e.execute(t, u1, a, "Look")
			e.clock.Advance(2 * 24 * time.Hour)
			recent := e.execute(t, u1, a, "Look")
			e.clock.Advance(89 * 24 * time.Hour)
			// old is 91 days old, recent 89: the default retention is 90.
			n, err := e.svc.CleanupOldExecutions(ctx)
			if err != nil || n != 1 {
				t.Fatalf("cleanup deleted %d executions (%v), want 1", n, err)
			}
			got := e.executions(t, u1)
			if len(got) != 1 || got[0].ID != recent || got[0].ID == old {
				t.Fatalf("executions left %+v, want only %d", got, recent)
			}
			forever := useractions.New(e.d, nil, useractions.Settings{Enabled: true, ExecutionRetentionDays: 0}, nil)
			e.clock.Advance(365 * 24 * time.Hour)
			if n, err := forever.CleanupOldExecutions(ctx); err != nil || n != 0 {
				t.Fatalf("without retention, cleanup deleted %d (%v)", n, err)
			}
		})
	})
}

// navProvider adds a navigate corrective action to setProvider's actions.
type navProvider struct{ *setProvider }

func (p *navProvider) Detect(ctx context.Context, c db.Conn, now time.Time, s provider.Scope) ([]provider.Action, error) {
	acts, err := p.setProvider.Detect(ctx, c, now, s)
	for i := range acts {
		acts[i].CorrectiveActions = []provider.CorrectiveAction{provider.Navigate("Look", provider.View, provider.Safe, "look", nil)}
	}
	return acts, err
}

func (e *engineEnv) execute(t testing.TB, u *auth.User, a *useractions.Action, label string) int64 {
	t.Helper()
	if out, err := e.svc.Execute(context.Background(), u, a.UUID, label, nil); err != nil || out.Action != "navigate" {
		t.Fatalf("execute %s: %+v, %v", label, out, err)
	}
	list := e.executions(t, u)
	return list[0].ID
}

func (e *engineEnv) executions(t testing.TB, u *auth.User) []*useractions.Execution {
	t.Helper()
	list, _, err := e.svc.Executions(context.Background(), u, "", db.Page{Limit: 300})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func mustExec(t testing.TB, d *db.DB, q string, args ...any) {
	t.Helper()
	if err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestUserActionUrgencyFromSchedule is the reference's table of worked
// results for expiring resources (Waldur's
// test_urgency_from_schedule_calculation among them).
func TestUserActionUrgencyFromSchedule(t *testing.T) {
	type span struct {
		from, to int
		want     provider.Urgency
	}
	for _, c := range []struct {
		schedule []int
		spans    []span
	}{
		{[]int{30, 14, 7, 1}, []span{{8, 30, provider.Low}, {2, 7, provider.Medium}, {0, 1, provider.High}}},
		{[]int{90, 60, 30, 14, 7, 1}, []span{{31, 90, provider.Low}, {8, 30, provider.Medium}, {0, 7, provider.High}}},
		{[]int{180, 90, 60, 30, 14, 7}, []span{{61, 180, provider.Low}, {15, 60, provider.Medium}, {0, 14, provider.High}}},
		{[]int{60, 30, 7}, []span{{31, 60, provider.Low}, {8, 30, provider.Medium}, {0, 7, provider.High}}},
		{[]int{30, 7}, []span{{8, 30, provider.Low}, {0, 7, provider.High}}},
		{[]int{30}, []span{{0, 30, provider.High}}},
	} {
		for _, s := range c.spans {
			for d := s.from; d <= s.to; d++ {
				if got := marketplace.UrgencyFromSchedule(d, c.schedule); got != s.want {
					t.Errorf("schedule %v, %d days: %s, want %s", c.schedule, d, got, s.want)
				}
			}
		}
	}
}
