package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// probe is one /readyz request: when it was sent, when its answer came,
// and the status (0: no answer).
type probe struct {
	sent, at time.Time
	status   int
}

// TestDrainOnSIGTERM sends SIGTERM to a heed serving a load of fresh
// connections (a new TCP connection per request, as a load balancer without
// keep-alive sends them). A balancer stand-in polls /readyz and, a while
// after it first sees 503, stops sending, as a real one takes some checks
// to notice. No request may fail: heed must report itself unready at once
// and keep accepting for the grace period, and only then close.
func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	const (
		grace = 1500 * time.Millisecond
		// noticeAfter is the balancer's delay between the first 503 and
		// the last request it sends: well inside the grace period.
		noticeAfter = grace / 3
	)
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		apptest.SeedDemo(t, url)
		p := startHeed(t, "heed", nil, "serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "json",
			"--pg-max-conns", "8", "--drain-grace", grace.String())
		base := "http://" + p.addr(t)
		fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

		var (
			ok, failed   atomic.Int64
			servedAfter  atomic.Int64 // successes that started after SIGTERM
			termAt       atomic.Pointer[time.Time]
			failuresMu   sync.Mutex
			failures     []string
			balancerGone = make(chan struct{})
		)
		send := func(method, path, body string) {
			started := time.Now()
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Token "+apptest.Alice)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := fresh.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				failed.Add(1)
				failuresMu.Lock()
				failures = append(failures, fmt.Sprintf("%s %s: %v", method, path, err))
				failuresMu.Unlock()
				return
			}
			ok.Add(1)
			if at := termAt.Load(); at != nil && started.After(*at) {
				servedAfter.Add(1)
			}
		}
		var resource string
		{
			var list []struct {
				UUID string `json:"uuid"`
			}
			c := heedAPI{base: base, client: fresh}
			if status, err := c.callList("/api/marketplace-resources/?state=OK", apptest.Alice, &list); err != nil || status != http.StatusOK || len(list) == 0 {
				t.Fatalf("list resources: %d %v (%d)", status, err, len(list))
			}
			resource = list[0].UUID
		}
		var load sync.WaitGroup
		for w := range 4 {
			load.Go(func() {
				for seq := 0; ; seq++ {
					select {
					case <-balancerGone:
						return
					default:
					}
					if w == 0 { // one writer among readers
						send(http.MethodPatch, "/api/marketplace-resources/"+resource+"/", fmt.Sprintf(`{"description": "drain %d"}`, seq))
					} else {
						send(http.MethodGet, "/api/users/me/", "")
					}
				}
			})
		}

		// The balancer stand-in.
		var probes []probe
		probed := make(chan struct{})
		go func() {
			defer close(probed)
			// The balancer's check interval paces the probes.
			check := time.NewTicker(20 * time.Millisecond)
			defer check.Stop()
			var first503 time.Time
			for ; ; <-check.C {
				sent, status := time.Now(), 0
				if resp, err := fresh.Get(base + "/readyz"); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				now := time.Now()
				probes = append(probes, probe{sent: sent, at: now, status: status})
				if status == http.StatusServiceUnavailable && first503.IsZero() {
					first503 = now
				}
				if !first503.IsZero() && now.Sub(first503) >= noticeAfter {
					select {
					case <-balancerGone:
					default:
						close(balancerGone)
					}
				}
				if status == 0 || !p.alive() {
					return
				}
			}
		}()

		apptest.Eventually(t, startTimeout, "the load to be served", func() bool {
			p.mustBeAlive(t)
			return ok.Load() >= 50
		})
		now := time.Now()
		termAt.Store(&now)
		p.terminate(t)
		p.wantGracefulExit(t)
		select {
		case <-balancerGone:
		default:
			close(balancerGone) // heed never said it was unready; stop anyway
		}
		load.Wait()
		<-probed

		// heed logs "shutting down" just after it starts draining: every
		// probe sent after that line must be told 503.
		drainingAt := now
		if rec := p.logged("shutting down"); rec != nil {
			if ts, ok := rec["time"].(string); ok {
				if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					drainingAt = at
				}
			}
		}
		var first503, lastAnswer time.Time
		var readyAfter503, readyWhileDraining int
		for _, pr := range probes {
			switch {
			case pr.status == http.StatusServiceUnavailable && first503.IsZero():
				first503 = pr.at
			case pr.status == http.StatusOK && !first503.IsZero():
				readyAfter503++
			}
			if pr.status == http.StatusOK && pr.sent.After(drainingAt) {
				readyWhileDraining++
			}
			if pr.status != 0 {
				lastAnswer = pr.at
			}
		}
		t.Logf("%s: %d requests on fresh connections, %d failed, %d served after SIGTERM; draining %s after SIGTERM; "+
			"first /readyz 503 answered %s after SIGTERM (%d probes); answers until %s after SIGTERM (grace %s)", dialectOf(url),
			ok.Load()+failed.Load(), failed.Load(), servedAfter.Load(), drainingAt.Sub(now).Round(time.Millisecond),
			first503.Sub(now).Round(time.Millisecond), len(probes), lastAnswer.Sub(now).Round(time.Millisecond), grace)
		if failed.Load() > 0 {
			failuresMu.Lock()
			t.Errorf("%d requests failed during the drain: %q", failed.Load(), failures[:min(len(failures), 10)])
			failuresMu.Unlock()
		}
		if first503.IsZero() {
			t.Errorf("/readyz never answered 503 after SIGTERM (%d probes)", len(probes))
		} else if first503.Sub(now) > grace/2 {
			t.Errorf("/readyz answered 503 %s after SIGTERM; want at once (grace %s)", first503.Sub(now), grace)
		}
		if readyAfter503 > 0 || readyWhileDraining > 0 {
			t.Errorf("/readyz answered 200 %d times after it had answered 503, %d times to probes sent while draining",
				readyAfter503, readyWhileDraining)
		}
		if servedAfter.Load() == 0 {
			t.Error("no request sent after SIGTERM was served: the listener closed without a grace period")
		}
		for _, msg := range []string{"shutting down", "requests drained", "stopped"} {
			if p.logged(msg) == nil {
				t.Errorf("heed did not log %q", msg)
			}
		}
	})
}

// callList GETs a JSON list.
func (c heedAPI) callList(path, token string, out any) (int, error) {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Token "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

func dialectOf(url string) db.Dialect {
	if db.IsPostgresURL(url) {
		return db.Postgres
	}
	return db.SQLite
}
