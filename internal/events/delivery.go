package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// deliverer makes the HTTP calls. Transports are shared per connect
// timeout, so connections to a receiver are reused across deliveries.
type deliverer struct {
	allowPrivate bool
	mu           sync.Mutex
	transports   map[time.Duration]*http.Transport
}

func newDeliverer(allowPrivate bool) *deliverer {
	return &deliverer{allowPrivate: allowPrivate, transports: map[time.Duration]*http.Transport{}}
}

// cgnat is 100.64.0.0/10, shared address space: not public either.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// ErrPrivateAddress is why a delivery to a private address was refused.
var ErrPrivateAddress = errors.New("private, loopback and link-local addresses are refused (HEED_WEBHOOK_ALLOW_PRIVATE=true allows them)")

func privateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a)
}

// checkLiteral refuses, at configuration time, a host that is a private
// address literal or localhost. Names are checked again when dialled.
func (d *deliverer) checkLiteral(host string) error {
	if d.allowPrivate {
		return nil
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("%s: %w", host, ErrPrivateAddress)
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && privateAddr(a) {
		return fmt.Errorf("%s: %w", host, ErrPrivateAddress)
	}
	return nil
}

// control runs after DNS resolution, on the address actually dialled: a
// name that resolves to a private address is refused here.
func (d *deliverer) control(_, address string, _ syscall.RawConn) error {
	if d.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if privateAddr(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", ap.Addr(), ErrPrivateAddress)
	}
	return nil
}

func (d *deliverer) transport(connect time.Duration) *http.Transport {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.transports[connect]; ok {
		return t
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second, Control: d.control}
	t := &http.Transport{
		// No proxy from the environment: the address check must see the
		// real destination.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   connect,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	d.transports[connect] = t
	return t
}

// attemptResult is what one HTTP call gave.
type attemptResult struct {
	Start, End time.Time
	Status     int
	Err        error
	// RetryAfter is the receiver's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Overload: a timeout or 429, after which Svix waits at least a minute.
	Overload bool
}

func (r attemptResult) ok() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

// gone is a 410 Gone: the receiver asks never to be called again.
func (r attemptResult) gone() bool { return r.Err == nil && r.Status == http.StatusGone }

func (r attemptResult) exception() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	if !r.ok() {
		return fmt.Sprintf("HTTP %d %s", r.Status, http.StatusText(r.Status))
	}
	return ""
}

// responseBodyLimit bounds what is read of a receiver's answer.
const responseBodyLimit = 20_000

// post sends body to w once, signed, with w's headers, credentials and
// timeouts. Any 2xx is success; redirects are not followed (3xx fails).
func (d *deliverer) post(ctx context.Context, w *Webhook, eventID string, body []byte, now func() time.Time) (res attemptResult) {
	res = attemptResult{Start: now()}
	defer func() { res.End = now() }()
	ctx, cancel := context.WithTimeout(ctx, w.ConnectTimeout+w.ReadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, strings.NewReader(string(body)))
	if err != nil {
		res.Err = fmt.Errorf("build request: %w", err)
		return res
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "heed-webhooks")
	if w.Username != "" || w.Password != "" {
		req.SetBasicAuth(w.Username, w.Password)
	}
	if w.Secret != "" {
		ts := res.Start.Unix()
		sig, err := SignStandard(w.Secret, eventID, ts, body)
		if err != nil {
			res.Err = err
			return res
		}
		req.Header.Set("webhook-id", eventID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", sig)
	}
	if w.SignatureEnabled && w.key != nil {
		jwt, err := SignJWT(w.key, body)
		if err != nil {
			res.Err = err
			return res
		}
		req.Header.Set("X-FusionAuth-Signature-JWT", jwt)
	}
	client := &http.Client{
		Transport:     d.transport(w.ConnectTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		res.Err = err
		var ne net.Error
		res.Overload = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return res
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseBodyLimit))
	_ = resp.Body.Close()
	res.Status = resp.StatusCode
	if resp.StatusCode == http.StatusTooManyRequests {
		res.Overload = true
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			res.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			res.RetryAfter = time.Until(t)
		}
	}
	return res
}
