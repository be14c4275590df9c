package events

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestDialerRefusesPrivateAddresses: the dialer's check runs on the
// address actually connected to, so a name resolving to loopback is
// refused like a literal, with an error wrapping ErrPrivateAddress, and
// nothing reaches the receiver. AllowPrivate lets the same call through.
func TestDialerRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	hookTo := func(host string) *Webhook {
		return &Webhook{URL: "http://" + net.JoinHostPort(host, port) + "/hook", ConnectTimeout: time.Second, ReadTimeout: time.Second,
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	}
	strict := newDeliverer(false)
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "192.168.0.1", "100.64.0.1"} {
		res := strict.post(context.Background(), hookTo(host), "evt_1", []byte(`{}`), time.Now)
		if !errors.Is(res.Err, ErrPrivateAddress) || res.ok() {
			t.Errorf("post to %s: status %d, error %v; want an error wrapping ErrPrivateAddress", host, res.Status, res.Err)
		}
		if res.exception() == "" {
			t.Errorf("post to %s: no exception to log", host)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver got %d requests through the strict dialer", n)
	}
	res := newDeliverer(true).post(context.Background(), hookTo("localhost"), "evt_1", []byte(`{}`), time.Now)
	if !res.ok() || hits.Load() != 1 {
		t.Fatalf("with AllowPrivate: status %d, error %v, %d requests; want one 200", res.Status, res.Err, hits.Load())
	}
}
