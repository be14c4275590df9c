package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions"
)

const actionsUsage = "usage: heed actions update [--provider TYPE] [--user USERNAME]"

// actions runs `heed actions update`: user-action detection now, in this
// process, one provider after the other. It prints one summary line per
// provider (with a progress line before it when stdout is a terminal) and
// fails if a provider failed. Like token create, it never creates or
// migrates a database.
func actions(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "update" {
		return usageError{actionsUsage}
	}
	fs := flag.NewFlagSet("heed actions update", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c        common
		only     string
		username string
	)
	c.register(fs)
	fs.StringVar(&only, "provider", "", "run only this provider (its action type, e.g. pending_order)")
	fs.StringVar(&username, "user", "", "detect only this user's actions")
	// Detection must see what serve's detection sees: the same settings,
	// from the same flags and HEED_* variables.
	var settings actionFlags
	all := flag.NewFlagSet("", flag.ContinueOnError)
	settings.register(all)
	for _, name := range []string{"user-actions-enabled", "pending-order-hours", "expiration-reminders"} {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	cfg := app.Config{DatabaseURL: c.databaseURL, DB: c.dbConfig()}
	if err := settings.apply(&cfg); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	// openExisting refuses a missing or unmigrated database with a helpful
	// message; app.New (which opens its own pools) then never creates one.
	d, err := openExisting(ctx, &c)
	if err != nil {
		return err
	}
	if err := d.Close(); err != nil {
		return err
	}
	cfg.Logger = log
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	var users []int64
	if username != "" {
		u, err := a.Users.UserByUsername(ctx, username)
		if errs.KindOf(err) == errs.NotFound {
			return fmt.Errorf("unknown user %q", username)
		}
		if err != nil {
			return err
		}
		users = []int64{u.ID}
	}
	types := a.Actions.ActionTypes()
	if only != "" {
		if !slices.Contains(types, only) {
			return fmt.Errorf("unknown provider %q (registered: %s)", only, strings.Join(types, ", "))
		}
		types = []string{only}
	}

	p := &progress{w: stdout, tty: isTerminal(stdout)}
	failed := 0
	for i, t := range types {
		stop := p.start(i, len(types), t)
		reports, err := a.Actions.Update(ctx, t, users)
		stop()
		if err != nil {
			p.line(t + ": error: " + err.Error()) // ends the progress line too
			return err
		}
		if reports == nil {
			p.line("user actions are disabled (--user-actions-enabled=false): nothing detected")
			return nil
		}
		for _, r := range reports {
			p.line(summary(r))
			if r.Err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d providers failed", failed, len(types))
	}
	return nil
}

// summary is a provider's line: "pending_order: 3 created, 0 updated,
// 1 deleted in 12ms", "… skipped (disabled)" or "… error: …".
func summary(r useractions.Report) string {
	switch {
	case r.Skipped:
		return r.ActionType + ": skipped (disabled)"
	case r.Err != nil:
		return r.ActionType + ": error: " + r.Err.Error()
	}
	return fmt.Sprintf("%s: %d created, %d updated, %d deleted in %s", r.ActionType, r.Created, r.Updated, r.Deleted,
		roundDuration(r.Duration))
}

// roundDuration keeps three significant digits or so: 412µs, 12ms, 1.23s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress writes the provider lines. On a terminal each provider's line
// first shows a bar over the providers, the one running and its elapsed
// time, redrawn in place with \r until its summary replaces it.
type progress struct {
	w     io.Writer
	tty   bool
	drawn int // width of the in-place line on screen, to blank it out
}

// progressEvery is how often the in-place line is redrawn.
const progressEvery = 100 * time.Millisecond

// start shows provider i of n as running; the returned stop ends the
// redrawing and returns once nothing more will be drawn.
func (p *progress) start(i, n int, actionType string) (stop func()) {
	if !p.tty {
		return func() {}
	}
	began := time.Now()
	p.draw(i, n, actionType, 0, 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for frame := 1; ; frame++ {
			select {
			case <-done:
				return
			case <-tick.C:
				p.draw(i, n, actionType, frame, time.Since(began))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

const barWidth = 20

var spinner = []string{"|", "/", "-", `\`}

func (p *progress) draw(i, n int, actionType string, frame int, elapsed time.Duration) {
	filled := barWidth * i / n
	s := fmt.Sprintf("[%s%s] %d/%d %s %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), i+1, n,
		actionType, spinner[frame%len(spinner)])
	if elapsed > 0 {
		s += " " + elapsed.Round(100*time.Millisecond).String()
	}
	p.redraw(s)
}

// redraw replaces the in-place line with s.
func (p *progress) redraw(s string) {
	pad := max(p.drawn-len(s), 0)
	fmt.Fprint(p.w, "\r"+s+strings.Repeat(" ", pad))
	p.drawn = len(s)
}

// line writes a finished line, replacing the in-place one on a terminal.
func (p *progress) line(s string) {
	if p.tty && p.drawn > 0 {
		p.redraw(s)
		p.drawn = 0
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprintln(p.w, s)
}
