package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/mail/mailtest"
)

// wait bounds every wait for a delivery: generous, the suite shares two
// cores with other packages' tests.
const wait = 30 * time.Second

// testTLS returns a server certificate for 127.0.0.1 and a client config
// that trusts it (httptest's certificate, borrowed from a server that is
// closed at once).
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	hs := httptest.NewTLSServer(nil)
	defer hs.Close()
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	return &tls.Config{Certificates: hs.TLS.Certificates, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func newSMTP(t *testing.T, url string, clientTLS *tls.Config) *SMTP {
	t.Helper()
	s, err := New(url, "heed <heed@example.test>")
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	s.tlsConfig = clientTLS
	return s
}

var sample = Message{
	To:      "alice@example.test",
	Subject: "[héed] User Action Digest: 3 pending actions",
	Text:    "Hello Ålice,\n\nYou have 3 pending actions.\n",
	HTML:    "<p>Hello Ålice,</p>\n<p>You have <strong>3</strong> pending actions.</p>\n",
}

func checkSample(t *testing.T, got mailtest.Received) {
	t.Helper()
	if got.From != "heed@example.test" || len(got.To) != 1 || got.To[0] != sample.To {
		t.Errorf("envelope from %q to %q, want heed@example.test to %s", got.From, got.To, sample.To)
	}
	if got.Subject != sample.Subject {
		t.Errorf("subject %q, want %q", got.Subject, sample.Subject)
	}
	if got.Text != sample.Text {
		t.Errorf("text part %q, want %q", got.Text, sample.Text)
	}
	if got.HTML != sample.HTML {
		t.Errorf("html part %q, want %q", got.HTML, sample.HTML)
	}
	if h := got.Header.Get("Auto-Submitted"); h != "auto-generated" {
		t.Errorf("Auto-Submitted %q, want auto-generated", h)
	}
	if h := got.Header.Get("From"); !strings.Contains(h, "heed@example.test") {
		t.Errorf("From header %q", h)
	}
}

func TestSMTPSendsTextAndHTML(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	if err := newSMTP(t, srv.URL, nil).Send(context.Background(), sample); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Next(t, wait)
	checkSample(t, got)
	if got.TLS {
		t.Errorf("TLS without a server certificate?")
	}
}

func TestSMTPTextOnly(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	m := sample
	m.HTML = ""
	if err := newSMTP(t, srv.URL, nil).Send(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Next(t, wait)
	if got.Text != m.Text || got.HTML != "" {
		t.Errorf("text %q html %q, want only the text", got.Text, got.HTML)
	}
}

func TestSMTPStartTLSWhenOffered(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	srv := mailtest.Start(t, mailtest.Options{TLS: serverTLS})
	if err := newSMTP(t, srv.URL, clientTLS).Send(context.Background(), sample); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Next(t, wait)
	checkSample(t, got)
	if !got.TLS {
		t.Errorf("the server offered STARTTLS but the message came in clear")
	}
}

// Opportunistic STARTTLS still verifies the certificate: a server that
// offers TLS with one nobody trusts gets nothing, rather than the message
// in clear or over an unauthenticated channel.
func TestSMTPStartTLSUntrustedCertificateFails(t *testing.T) {
	serverTLS, _ := testTLS(t)
	srv := mailtest.Start(t, mailtest.Options{TLS: serverTLS})
	err := newSMTP(t, srv.URL, nil).Send(context.Background(), sample)
	if err == nil {
		t.Fatal("sent through a STARTTLS server with an untrusted certificate")
	}
	if got := srv.Pending(); len(got) != 0 {
		t.Errorf("delivered %d messages", len(got))
	}
}

func TestSMTPSImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	srv := mailtest.Start(t, mailtest.Options{TLS: serverTLS, Implicit: true})
	if !strings.HasPrefix(srv.URL, "smtps://") {
		t.Fatalf("URL %s", srv.URL)
	}
	if err := newSMTP(t, srv.URL, clientTLS).Send(context.Background(), sample); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Next(t, wait)
	checkSample(t, got)
	if !got.TLS {
		t.Errorf("smtps:// delivered in clear")
	}
}

func TestSMTPAuth(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	for _, tc := range []struct {
		name string
		opts mailtest.Options
		tls  *tls.Config
	}{
		// PLAIN over loopback without TLS: go-mail allows it to localhost.
		{"plain on loopback", mailtest.Options{User: "relay", Password: "s3cret"}, nil},
		{"plain after STARTTLS", mailtest.Options{User: "relay", Password: "s3cret", TLS: serverTLS}, clientTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.opts)
			if err := newSMTP(t, srv.URL, tc.tls).Send(context.Background(), sample); err != nil {
				t.Fatalf("send: %v", err)
			}
			if got := srv.Next(t, wait); got.User != "relay" {
				t.Errorf("authenticated as %q, want relay", got.User)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{User: "relay", Password: "s3cret"})
		url := strings.Replace(srv.URL, "s3cret", "wrong", 1)
		err := newSMTP(t, url, nil).Send(context.Background(), sample)
		if err == nil {
			t.Fatal("sent with a wrong password")
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error shows the password: %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{User: "relay", Password: "s3cret"})
		url := strings.Replace(srv.URL, "relay:s3cret@", "", 1)
		if err := newSMTP(t, url, nil).Send(context.Background(), sample); err == nil {
			t.Fatal("a server requiring AUTH accepted mail without it")
		}
	})
}

func TestSMTPUnreachable(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	s := newSMTP(t, srv.URL, nil)
	s.port = 1 // nothing listens on tcpmux
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Send(ctx, sample); err == nil || !strings.Contains(err.Error(), "alice@example.test") {
		t.Fatalf("error %v, want one naming the recipient", err)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      string // error substring; empty: valid
		host      string
		port      int
		implicit  bool
	}{
		{url: "smtp://mail.example.org", from: "a@b.c", host: "mail.example.org", port: 25},
		{url: "smtp://u:p@mail.example.org:587", from: "heed <a@b.c>", host: "mail.example.org", port: 587},
		{url: "smtps://u:p@mail.example.org", from: "a@b.c", host: "mail.example.org", port: 465, implicit: true},
		{url: "smtp://mail.example.org?auth=plain-noenc&timeout=30s", from: "a@b.c", host: "mail.example.org", port: 25},
		{url: "http://mail.example.org", from: "a@b.c", want: "scheme"},
		{url: "smtp://:25", from: "a@b.c", want: "no host"},
		{url: "smtp://mail.example.org:0", from: "a@b.c", want: "port"},
		{url: "smtp://mail.example.org:99999", from: "a@b.c", want: "port"},
		{url: "smtp://mail.example.org?auth=magic", from: "a@b.c", want: "auth"},
		{url: "smtp://mail.example.org?timeout=soon", from: "a@b.c", want: "timeout"},
		{url: "smtp://mail.example.org?tls=off", from: "a@b.c", want: "unknown option"},
		{url: "smtp://mail.example.org", from: "", want: "HEED_MAIL_FROM"},
		{url: "smtp://mail.example.org", from: "not an address", want: "sender address"},
		{url: "smtp://user:hunter2@mail.example.org:x", from: "a@b.c", want: "URL"},
	} {
		s, err := New(tc.url, tc.from)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%q, %q) = %v, want error containing %q", tc.url, tc.from, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("New(%q): error shows the password: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q, %q): %v", tc.url, tc.from, err)
			continue
		}
		if s.host != tc.host || s.port != tc.port || s.implicit != tc.implicit {
			t.Errorf("New(%q): host %q port %d implicit %v, want %q %d %v", tc.url, s.host, s.port, s.implicit,
				tc.host, tc.port, tc.implicit)
		}
	}
	s, err := New("smtp://user:hunter2@mail.example.org:587", "a@b.c")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), "hunter2") || !strings.Contains(s.String(), "user") {
		t.Errorf("String() = %q, want the URL without its password", s)
	}
}

func TestOpenWithoutSMTPLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := Open("", "", log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := s.(Log); !ok {
		t.Fatalf("Open without a URL = %T, want Log", s)
	}
	if err := s.Send(context.Background(), sample); err != nil {
		t.Fatalf("send: %v", err)
	}
	for _, want := range []string{"alice@example.test", "User Action Digest", "You have 3 pending actions", "<strong>3</strong>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
	if _, err := Open("smtp://mail.example.org", "", log); err == nil {
		t.Error("Open with SMTP and no sender address succeeded")
	}
	if s, err := Open("smtp://mail.example.org", "a@b.c", log); err != nil {
		t.Errorf("Open: %v", err)
	} else if _, ok := s.(*SMTP); !ok {
		t.Errorf("Open with a URL = %T, want *SMTP", s)
	}
}
