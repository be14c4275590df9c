// Package mail sends heed's email: over SMTP (github.com/wneessen/go-mail)
// when an SMTP server is configured, to the log otherwise, so a heed
// without one still shows what it would have sent.
//
// It imports nothing of heed: domain packages define the interface they
// need and adapt their message type to Message.
package mail

import (
	"context"
	"log/slog"
	"strings"
)

// Message is one email with a plain-text body and an optional HTML
// alternative.
type Message struct {
	To string
	// From and FromName override the sender's configured From address
	// and its display name when set (FusionAuth's template fromEmail and
	// defaultFromName).
	From     string
	FromName string
	Subject  string
	Text     string
	HTML     string
}

// Sender delivers messages. SMTP and Log implement it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Open returns the sender heed is configured with: SMTP when smtpURL is set
// (see New), else Log on log. It is what HEED_SMTP_URL and HEED_MAIL_FROM
// are handed to.
func Open(smtpURL, from string, log *slog.Logger) (Sender, error) {
	if strings.TrimSpace(smtpURL) == "" {
		return Log{Logger: log}, nil
	}
	s, err := New(smtpURL, from)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Log "sends" by logging the whole message at info level. It is used when
// no SMTP server is configured, so development setups and the demo can see
// every digest.
type Log struct {
	// Logger receives the messages; nil means slog.Default().
	Logger *slog.Logger
}

// Send implements Sender. It never fails.
func (l Log) Send(ctx context.Context, m Message) error {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "mail not sent: no SMTP server configured (HEED_SMTP_URL)",
		"to", m.To, "from", m.From, "subject", m.Subject, "text", m.Text, "html", m.HTML)
	return nil
}
