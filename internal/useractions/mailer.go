package useractions

import "context"

// Message is one email: a text and an HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers messages. Digests are sent by a River job, never inside
// a request or a change's transaction.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// DigestConfig is what digest emails say about the site.
type DigestConfig struct {
	// SiteName is heed's name in subjects and sign-offs (HEED_SITE_NAME).
	SiteName string
	// ActionsURL is where users see their actions (HEED_ACTIONS_URL).
	ActionsURL string
}
