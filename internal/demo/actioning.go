package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/db"
)

// LoadActioning adds FusionAuth-style actioning data: the definitions
// "Mute" (temporal, emails the user), "Lock" (temporal, prevents login) and
// "Warn" (instantaneous, options soft and hard), the reasons "Misconduct"
// (code 123) and "Spam", an email template, and bob muted for a week by
// admin (he sees it in his user actions). Like Load, running it twice
// changes nothing: it does nothing when the Mute definition exists.
func LoadActioning(ctx context.Context, d *db.DB, svc *actioning.Service, now time.Time) error {
	var loaded int
	if err := d.ReadTx(ctx, func(c db.Conn) error {
		return c.QueryRow(ctx, `SELECT COUNT(*) FROM user_action_definitions WHERE lower(name) = 'mute'`).Scan(&loaded)
	}); err != nil {
		return fmt.Errorf("check for demo actioning data: %w", err)
	}
	if loaded > 0 {
		return nil
	}
	tmpl, err := svc.CreateTemplate(ctx, actioning.Template{
		Name:           "Action notice",
		DefaultSubject: "{{.LocalizedAction}}: an action on your account",
		DefaultText: "Hello {{.Actionee.FullName}},\n\nan administrator took the action {{.LocalizedAction}} on your account" +
			"{{if .LocalizedDuration}} for {{.LocalizedDuration}}{{end}} ({{.Phase}}).\n{{if .LocalizedReason}}Reason: {{.LocalizedReason}}\n{{end}}" +
			"{{if .Comment}}Comment: {{.Comment}}\n{{end}}",
		DefaultHTML: "<p>Hello {{.Actionee.FullName}},</p><p>an administrator took the action <b>{{.LocalizedAction}}</b> on your account" +
			"{{if .LocalizedDuration}} for {{.LocalizedDuration}}{{end}}.</p>{{if .Comment}}<p>{{.Comment}}</p>{{end}}",
		LocalizedSubjects: actioning.LocalizedStrings{"de": "{{.LocalizedAction}}: eine Maßnahme für Ihr Konto"},
		DefaultFromName:   "heed moderation",
	})
	if err != nil {
		return fmt.Errorf("demo email template: %w", err)
	}
	mute, err := svc.CreateDefinition(ctx, actioning.Definition{
		Name: "Mute", Temporal: true, SendEndEvent: true, UserEmailingEnabled: true, UserNotificationsEnabled: true,
		StartEmailTemplateID: tmpl.ID, ModifyEmailTemplateID: tmpl.ID, CancelEmailTemplateID: tmpl.ID, EndEmailTemplateID: tmpl.ID,
		LocalizedNames: actioning.LocalizedStrings{"de": "Stummschaltung", "fr": "Sourdine"},
	})
	if err != nil {
		return fmt.Errorf("demo Mute: %w", err)
	}
	if _, err := svc.CreateDefinition(ctx, actioning.Definition{
		Name: "Lock", Temporal: true, PreventLogin: true, SendEndEvent: true, UserNotificationsEnabled: true,
		LocalizedNames: actioning.LocalizedStrings{"de": "Sperre"},
	}); err != nil {
		return fmt.Errorf("demo Lock: %w", err)
	}
	if _, err := svc.CreateDefinition(ctx, actioning.Definition{
		Name: "Warn", SendEndEvent: true, UserNotificationsEnabled: true,
		Options: []actioning.Option{{Name: "soft", LocalizedNames: actioning.LocalizedStrings{"de": "leicht"}},
			{Name: "hard", LocalizedNames: actioning.LocalizedStrings{"de": "streng"}}},
	}); err != nil {
		return fmt.Errorf("demo Warn: %w", err)
	}
	if _, err := svc.CreateReason(ctx, actioning.Reason{Text: "Misconduct", Code: "123",
		LocalizedTexts: actioning.LocalizedStrings{"de": "Fehlverhalten"}}); err != nil {
		return fmt.Errorf("demo reason: %w", err)
	}
	spam, err := svc.CreateReason(ctx, actioning.Reason{Text: "Spam", Code: "spam"})
	if err != nil {
		return fmt.Errorf("demo reason: %w", err)
	}
	bob, err := userNamed(ctx, d, "bob")
	if err != nil {
		return err
	}
	admin, err := userNamed(ctx, d, "admin")
	if err != nil {
		return err
	}
	expiry := now.Add(7 * 24 * time.Hour).UnixMilli()
	if _, err := svc.Take(ctx, actioning.Request{
		DefinitionID: mute.ID, ActioneeID: bob, ActionerID: admin, Comment: "Posting the same link in every project",
		NotifyUser: true, Expiry: &expiry, ReasonID: spam.ID,
	}); err != nil {
		return fmt.Errorf("demo: mute bob: %w", err)
	}
	return nil
}

func userNamed(ctx context.Context, d *db.DB, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := d.ReadTx(ctx, func(c db.Conn) error {
		var s string
		if err := c.QueryRow(ctx, `SELECT uuid FROM users WHERE username = ?`, name).Scan(&s); err != nil {
			return err
		}
		var err error
		id, err = uuid.Parse(s)
		return err
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("demo user %s: %w", name, err)
	}
	return id, nil
}
