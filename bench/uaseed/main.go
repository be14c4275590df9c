// Command uaseed gives a demo user N user actions through the real engine
// (a synthetic provider reporting N actions), for bench/user-actions.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// synthetic reports n actions for one user, of all three urgencies.
type synthetic struct {
	user int64
	n    int
}

func (synthetic) ActionType() string  { return "bench_synthetic" }
func (synthetic) DisplayName() string { return "Benchmark actions" }

func (s synthetic) Detect(_ context.Context, _ db.Conn, now time.Time, _ provider.Scope) ([]provider.Action, error) {
	urg := []provider.Urgency{provider.High, provider.Medium, provider.Low}
	out := make([]provider.Action, s.n)
	for i := range out {
		due := now.AddDate(0, 0, i%40)
		out[i] = provider.Action{UserID: s.user, Object: provider.ObjectRef{Type: "bench", ID: int64(i + 1)},
			RelatedObjectName: fmt.Sprintf("object %d", i), Title: fmt.Sprintf("Benchmark action %d", i),
			Description: "Something to look at.", Urgency: urg[i%3], DueDate: &due,
			RouteName: "bench.details", RouteParams: map[string]any{"id": i},
			CorrectiveActions: []provider.CorrectiveAction{
				provider.Navigate("View", provider.View, provider.Safe, "bench.details", map[string]any{"id": i}),
			}}
	}
	return out, nil
}

func (synthetic) Execute(context.Context, *auth.User, provider.Target, provider.CorrectiveAction, map[string]any) (provider.Result, error) {
	return provider.Result{}, nil
}

func main() {
	url := flag.String("database-url", "heed.db", "heed's database")
	username := flag.String("user", "alice", "whose actions")
	n := flag.Int("n", 50, "how many actions")
	flag.Parse()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{URL: *url})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	u, err := (&auth.Service{DB: d}).UserByUsername(ctx, *username)
	if err != nil {
		log.Fatalf("user %s: %v", *username, err)
	}
	svc := useractions.New(d, nil, useractions.DefaultSettings(), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	svc.Register(synthetic{user: u.ID, n: *n})
	reps, err := svc.Update(ctx, "bench_synthetic", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range reps {
		fmt.Printf("%s: %d created, %d updated, %d deleted (err %v)\n", r.ActionType, r.Created, r.Updated, r.Deleted, r.Err)
	}
}
