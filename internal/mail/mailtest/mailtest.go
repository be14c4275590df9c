// Package mailtest runs an SMTP server (github.com/emersion/go-smtp) inside
// the test process on 127.0.0.1: it accepts every message and hands it to
// the test parsed, so tests assert on what a real SMTP client delivered.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the server.
type Options struct {
	// TLS, when set, is offered with STARTTLS, or from the first byte when
	// Implicit is set (URL scheme smtps).
	TLS      *tls.Config
	Implicit bool
	// User and Password, when set, make AUTH PLAIN mandatory.
	User, Password string
}

// Received is one delivered message.
type Received struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Header is the message's header; Subject is decoded.
	Header  netmail.Header
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
	// TLS says the message came over an encrypted connection.
	TLS bool
	// User is who authenticated, if anyone did.
	User string
	Raw  []byte
	// Err is set when the message could not be parsed.
	Err error
}

// Server is a running test SMTP server.
type Server struct {
	// URL is how heed reaches it (smtp:// or smtps://, with credentials).
	URL string
	// Addr is host:port.
	Addr string
	got  chan Received
}

// Start listens on 127.0.0.1:0 until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: listen: %v", err)
	}
	scheme := "smtp"
	if opts.Implicit {
		if opts.TLS == nil {
			tb.Fatalf("mailtest: Implicit needs TLS")
		}
		ln = tls.NewListener(ln, opts.TLS)
		scheme = "smtps"
	}
	s := &Server{Addr: ln.Addr().String(), got: make(chan Received, 256)}
	u := url.URL{Scheme: scheme, Host: s.Addr}
	if opts.User != "" {
		u.User = url.UserPassword(opts.User, opts.Password)
	}
	s.URL = u.String()
	done := make(chan struct{})
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, c: c, opts: opts, done: done}, nil
	}))
	srv.Domain = "mailtest.localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 10 << 20
	if !opts.Implicit {
		srv.TLSConfig = opts.TLS
	}
	// PLAIN over an unencrypted loopback connection is what a local relay
	// accepts; go-mail allows it to localhost only.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		close(done)
		_ = srv.Close()
		// Close only closes listeners Serve has registered; a test that never
		// connected can end before Serve got that far, and Accept would
		// block for ever. Closing ln ends it either way.
		_ = ln.Close()
		<-served
	})
	return s
}

// Next returns the next message delivered, failing the test when none
// arrives within timeout.
func (s *Server) Next(tb testing.TB, timeout time.Duration) Received {
	tb.Helper()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-s.got:
		if r.Err != nil {
			tb.Fatalf("mailtest: message to %v: %v\n%s", r.To, r.Err, r.Raw)
		}
		return r
	case <-t.C:
		tb.Fatalf("mailtest: no message delivered within %s", timeout)
		return Received{}
	}
}

// Pending returns the messages delivered and not yet taken, without
// waiting.
func (s *Server) Pending() []Received {
	var out []Received
	for {
		select {
		case r := <-s.got:
			out = append(out, r)
		default:
			return out
		}
	}
}

type session struct {
	s    *Server
	c    *smtp.Conn
	opts Options
	done chan struct{}
	user string
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string {
	if x.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.opts.User || pass != x.opts.Password {
			return errors.New("invalid username or password")
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.opts.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := x.c.TLSConnectionState()
	got := Received{From: x.from, To: x.to, TLS: isTLS, User: x.user, Raw: raw}
	got.Err = parse(&got)
	select {
	case x.s.got <- got:
	case <-x.done:
	}
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

func parse(r *Received) error {
	m, err := netmail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	r.Header = m.Header
	dec := new(mime.WordDecoder)
	if r.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	return part(r, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
}

// part stores a text part's body, or walks a multipart's parts.
func part(r *Received, contentType, encoding string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mt, err)
			}
			// NextPart already decodes quoted-printable and hides the header.
			if err := part(r, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mt, err)
	}
	// Normalise CRLF so tests compare with Go strings.
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mt {
	case "text/plain":
		r.Text = text
	case "text/html":
		r.HTML = text
	}
	return nil
}
