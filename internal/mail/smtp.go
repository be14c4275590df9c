package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultTimeout bounds connecting and each SMTP command. A digest job has
// 50 s in all (useractions), so one unresponsive server cannot use it up
// on the first command.
const DefaultTimeout = 15 * time.Second

// SMTP sends each message over its own connection to one SMTP server.
// Digests are few and go out from jobs, so a connection pool would only add
// the trouble of noticing a server that dropped an idle connection.
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the first byte
	user     string
	pass     string
	// auth is the mechanism asked for with ?auth=; empty picks one (see
	// client).
	auth    gomail.SMTPAuthType
	from    string
	timeout time.Duration
	// tlsConfig overrides go-mail's (system roots, ServerName host, TLS 1.2
	// or later); tests set it to trust their own certificate.
	tlsConfig *tls.Config
	redacted  string
}

// New configures an SMTP sender from a URL and a sender address:
//
//	smtp://[user:password@]host[:port][?auth=MECH&timeout=DURATION]
//	smtps://[user:password@]host[:port][?auth=MECH&timeout=DURATION]
//
// smtp:// (port 25 by default) upgrades with STARTTLS whenever the server
// offers it; smtps:// (port 465 by default) speaks TLS from the start. With
// a user, the mechanism is the first of SCRAM-SHA-256, SCRAM-SHA-1,
// CRAM-MD5, PLAIN and LOGIN the server offers; PLAIN and LOGIN are refused
// on an unencrypted connection except to localhost, so a password never
// crosses the network in clear. auth= names one mechanism instead (go-mail's
// names, e.g. plain, login, scram-sha-256, or plain-noenc to allow PLAIN
// without TLS). timeout= bounds connecting and each command (default 15s).
// from is the From address, e.g. `heed <heed@example.org>`.
func New(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error repeats the URL, password included.
		return nil, errors.New("SMTP URL: not a URL (want smtp://user:password@host:port or smtps://…)")
	}
	s := &SMTP{host: u.Hostname(), timeout: DefaultTimeout, redacted: u.Redacted()}
	switch u.Scheme {
	case "smtp":
		s.port = 25
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("SMTP URL %s: scheme %q: want smtp or smtps", s.redacted, u.Scheme)
	}
	if s.host == "" {
		return nil, fmt.Errorf("SMTP URL %s: no host", s.redacted)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("SMTP URL %s: port %q: want 1 to 65535", s.redacted, p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "auth":
			if err := s.auth.UnmarshalString(v); err != nil {
				return nil, fmt.Errorf("SMTP URL %s: auth: %w", s.redacted, err)
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("SMTP URL %s: timeout %q: want a positive duration such as 30s", s.redacted, v)
			}
			s.timeout = d
		default:
			// A misspelt option silently ignored would be found only when
			// mail does not arrive.
			return nil, fmt.Errorf("SMTP URL %s: unknown option %q (known: auth, timeout)", s.redacted, k)
		}
	}
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("a sender address is required with an SMTP server (HEED_MAIL_FROM)")
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("sender address %q: %w", from, err)
	}
	s.from = from
	return s, nil
}

// String is the server's URL with the password hidden, for logs.
func (s *SMTP) String() string { return s.redacted }

// preferredAuth is tried in order when the URL names no mechanism: the
// challenge-response ones first, which never reveal the password.
var preferredAuth = []gomail.SMTPAuthType{
	gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
	gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
}

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.timeout)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	switch {
	case s.user == "":
	case s.auth != "":
		opts = append(opts, gomail.WithSMTPAuth(s.auth), gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	default:
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(preferredAuth...),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client for %s: %w", s.redacted, err)
	}
	return c, nil
}

// setFrom uses the message's sender when it names one, else the
// configured one (with the message's display name, if any).
func (s *SMTP) setFrom(msg *gomail.Msg, m Message) error {
	addr, name := m.From, m.FromName
	if addr == "" {
		a, err := netmail.ParseAddress(s.from)
		if err != nil {
			return fmt.Errorf("mail from %q: %w", s.from, err)
		}
		addr = a.Address
		if name == "" {
			name = a.Name
		}
	}
	if name == "" {
		if err := msg.From(addr); err != nil {
			return fmt.Errorf("mail from %q: %w", addr, err)
		}
		return nil
	}
	if err := msg.FromFormat(name, addr); err != nil {
		return fmt.Errorf("mail from %q <%s>: %w", name, addr, err)
	}
	return nil
}

// Send implements Sender: one connection, one message. ctx bounds the
// dial; the configured timeout bounds every command after it.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := s.setFrom(msg, m); err != nil {
		return err
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	// Everything heed sends is generated: RFC 3834 asks vacation responders
	// not to answer it.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail to %s via %s: %w", m.To, s.redacted, err)
	}
	return nil
}
