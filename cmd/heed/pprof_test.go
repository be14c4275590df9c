package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPprofAddr: HEED_PPROF_ADDR (the --pprof-addr twin) serves
// net/http/pprof on a listener of its own; the API's address does not
// serve it, and without the setting nothing listens for it.
func TestPprofAddr(t *testing.T) {
	t.Parallel()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	serve := func(env map[string]string) (stderr *syncBuffer, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		stderr = &syncBuffer{}
		environ := []string{}
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		done := make(chan int, 1)
		args := []string{"serve", "--database-url", filepath.Join(t.TempDir(), "heed.db"), "--addr", "127.0.0.1:0",
			"--no-workers", "--drain-grace", "0s"}
		go func() {
			done <- run(ctx, args, strings.NewReader(""), io.Discard, stderr, func(k string) string { return env[k] }, environ)
		}()
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(stderr.String(), "msg=listening") {
			select {
			case code := <-done:
				t.Fatalf("serve exited %d: %s", code, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve did not start: %s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return stderr, func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		}
	}
	addrOf := func(logs, msg string) string {
		m := regexp.MustCompile(`msg=` + msg + ` addr=(\S+)`).FindStringSubmatch(logs)
		if m == nil {
			t.Fatalf("no %s line with an addr in %s", msg, logs)
		}
		return m[1]
	}

	logs, stop := serve(map[string]string{"HEED_PPROF_ADDR": "127.0.0.1:0"})
	pp := addrOf(logs.String(), `"pprof listening"`)
	api := addrOf(logs.String(), "listening")
	if code, body := get("http://" + pp + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d %.200s", code, body)
	}
	if code, body := get("http://" + pp + "/debug/pprof/cmdline"); code != http.StatusOK || body == "" {
		t.Errorf("pprof cmdline: %d %q", code, body)
	}
	if code, _ := get("http://" + api + "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("the API's address answers /debug/pprof/ with %d, want 404", code)
	}
	stop()

	logs, stop = serve(nil)
	if strings.Contains(logs.String(), "pprof") {
		t.Errorf("pprof started without --pprof-addr: %s", logs.String())
	}
	stop()
}
