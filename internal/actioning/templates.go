package actioning

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Template is FusionAuth's email template, rendered with Go's templates:
// text/template for the subject and text body, html/template (escaping
// what it inserts) for the HTML body. The data is TemplateData.
type Template struct {
	ID                 uuid.UUID
	Name               string
	DefaultSubject     string
	DefaultHTML        string
	DefaultText        string
	DefaultFromName    string
	FromEmail          string
	LocalizedSubjects  LocalizedStrings
	LocalizedHTML      LocalizedStrings
	LocalizedText      LocalizedStrings
	LocalizedFromNames LocalizedStrings
	Created, Updated   time.Time
}

// TemplateUser is a user as templates and events see it (no secrets).
type TemplateUser struct {
	ID                 string   `json:"id"`
	TenantID           string   `json:"tenantId"`
	Username           string   `json:"username,omitempty"`
	Email              string   `json:"email,omitempty"`
	FirstName          string   `json:"firstName,omitempty"`
	LastName           string   `json:"lastName,omitempty"`
	FullName           string   `json:"fullName,omitempty"`
	PreferredLanguages []string `json:"preferredLanguages"`
	Active             bool     `json:"active"`
	InsertInstant      int64    `json:"insertInstant"`
	LastUpdateInstant  int64    `json:"lastUpdateInstant"`
}

// TemplateData is what an action email's templates can use:
// {{.Actionee.FirstName}}, {{.Action}}, {{.LocalizedDuration}}, ...
type TemplateData struct {
	Actionee          TemplateUser
	Actioner          *TemplateUser
	Action            string
	LocalizedAction   string
	Option            string
	LocalizedOption   string
	Reason            string
	LocalizedReason   string
	ReasonCode        string
	Comment           string
	Phase             string
	Expiry            *time.Time
	LocalizedDuration string
}

// Rendered is an email ready to send, also FusionAuth's event.email.
type Rendered struct {
	From        Address   `json:"from"`
	To          []Address `json:"to"`
	ReplyTo     Address   `json:"replyTo"`
	CC          []Address `json:"cc"`
	BCC         []Address `json:"bcc"`
	Subject     string    `json:"subject"`
	HTML        string    `json:"html,omitempty"`
	Text        string    `json:"text,omitempty"`
	Attachments []any     `json:"attachments"`
}

// Address is an email address with a display name.
type Address struct {
	Address string `json:"address"`
	Display string `json:"display,omitempty"`
}

func validateTemplate(t *Template) error {
	e := &errs.Error{Kind: errs.Invalid}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		e.Add("blank", "emailTemplate.name", "You must specify the [emailTemplate.name] property.")
	}
	if strings.TrimSpace(t.DefaultSubject) == "" {
		e.Add("blank", "emailTemplate.defaultSubject", "You must specify the [emailTemplate.defaultSubject] property.")
	}
	if strings.TrimSpace(t.DefaultHTML) == "" && strings.TrimSpace(t.DefaultText) == "" {
		e.Add("blank", "emailTemplate.defaultTextTemplate", "You must specify the [emailTemplate.defaultTextTemplate] or [emailTemplate.defaultHtmlTemplate] property.")
	}
	check := func(field, src string, html bool) {
		var err error
		if html {
			_, err = htmltemplate.New(field).Option("missingkey=zero").Parse(src)
		} else {
			_, err = texttemplate.New(field).Option("missingkey=zero").Parse(src)
		}
		if err != nil {
			e.Add("invalid", "emailTemplate."+field, "The template does not parse: %v.", err)
		}
	}
	check("defaultSubject", t.DefaultSubject, false)
	check("defaultTextTemplate", t.DefaultText, false)
	check("defaultHtmlTemplate", t.DefaultHTML, true)
	for loc, src := range t.LocalizedSubjects {
		check("localizedSubjects."+loc, src, false)
	}
	for loc, src := range t.LocalizedText {
		check("localizedTextTemplates."+loc, src, false)
	}
	for loc, src := range t.LocalizedHTML {
		check("localizedHtmlTemplates."+loc, src, true)
	}
	for _, m := range []*LocalizedStrings{&t.LocalizedSubjects, &t.LocalizedHTML, &t.LocalizedText, &t.LocalizedFromNames} {
		if *m == nil {
			*m = LocalizedStrings{}
		}
	}
	return e.OrNil()
}

// Render renders the template for data in the actionee's languages.
func (t *Template) Render(data TemplateData, to Address, defaultFrom Address) (*Rendered, error) {
	langs := data.Actionee.PreferredLanguages
	subject, err := renderText(Localize(t.DefaultSubject, t.LocalizedSubjects, langs), data)
	if err != nil {
		return nil, fmt.Errorf("template %s subject: %w", t.ID, err)
	}
	text, err := renderText(Localize(t.DefaultText, t.LocalizedText, langs), data)
	if err != nil {
		return nil, fmt.Errorf("template %s text: %w", t.ID, err)
	}
	html, err := renderHTML(Localize(t.DefaultHTML, t.LocalizedHTML, langs), data)
	if err != nil {
		return nil, fmt.Errorf("template %s html: %w", t.ID, err)
	}
	from := defaultFrom
	if t.FromEmail != "" {
		from.Address = t.FromEmail
	}
	if name := Localize(t.DefaultFromName, t.LocalizedFromNames, langs); name != "" {
		from.Display = name
	}
	return &Rendered{From: from, To: []Address{to}, ReplyTo: from, CC: []Address{}, BCC: []Address{},
		Subject: strings.TrimSpace(subject), HTML: html, Text: text, Attachments: []any{}}, nil
}

func renderText(src string, data TemplateData) (string, error) {
	if src == "" {
		return "", nil
	}
	t, err := texttemplate.New("t").Option("missingkey=zero").Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

func renderHTML(src string, data TemplateData) (string, error) {
	if src == "" {
		return "", nil
	}
	t, err := htmltemplate.New("t").Option("missingkey=zero").Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

const templateColumns = `id, name, default_subject, default_html, default_text, default_from_name, from_email,
	localized_subjects, localized_html, localized_text, localized_from_names, created, updated`

func scanTemplate(r interface{ Scan(...any) error }) (*Template, error) {
	var (
		t                          Template
		id, subj, html, text, from string
	)
	if err := r.Scan(&id, &t.Name, &t.DefaultSubject, &t.DefaultHTML, &t.DefaultText, &t.DefaultFromName, &t.FromEmail,
		&subj, &html, &text, &from, &t.Created, &t.Updated); err != nil {
		return nil, err
	}
	t.ID = uuid.MustParse(id)
	utc(&t.Created, &t.Updated)
	return &t, errors.Join(decodeJSON(subj, &t.LocalizedSubjects, "subjects"), decodeJSON(html, &t.LocalizedHTML, "html"),
		decodeJSON(text, &t.LocalizedText, "text"), decodeJSON(from, &t.LocalizedFromNames, "from names"))
}

func getTemplate(ctx context.Context, c db.Conn, id uuid.UUID) (*Template, error) {
	t, err := scanTemplate(c.QueryRow(ctx, `SELECT `+templateColumns+` FROM email_templates WHERE id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("email template not found")
	}
	if err != nil {
		return nil, fmt.Errorf("load email template %s: %w", id, err)
	}
	return t, nil
}

// GetTemplate returns one template.
func (s *Service) GetTemplate(ctx context.Context, id uuid.UUID) (*Template, error) {
	return getTemplate(ctx, s.DB.Reader(), id)
}

// ListTemplates returns every template by name.
func (s *Service) ListTemplates(ctx context.Context) (out []*Template, err error) {
	defer errs.Wrap(&err, "ListTemplates")
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+templateColumns+` FROM email_templates ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []*Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func templateArgs(t *Template) []any {
	return []any{t.ID.String(), t.Name, t.DefaultSubject, t.DefaultHTML, t.DefaultText, t.DefaultFromName, t.FromEmail,
		jsonText(t.LocalizedSubjects), jsonText(t.LocalizedHTML), jsonText(t.LocalizedText), jsonText(t.LocalizedFromNames),
		t.Created, t.Updated}
}

// CreateTemplate stores t (a zero ID gets a random one).
func (s *Service) CreateTemplate(ctx context.Context, t Template) (out *Template, err error) {
	defer errs.Wrap(&err, "CreateTemplate")
	if err := validateTemplate(&t); err != nil {
		return nil, err
	}
	if t.ID == uuid.Nil {
		t.ID = uuid.New()
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getTemplate(ctx, tx, t.ID); err == nil {
			return errs.Coded("duplicate", "emailTemplateId", "An email template with id [%s] already exists.", t.ID)
		}
		t.Created = tx.Now()
		t.Updated = t.Created
		_, err := tx.Exec(ctx, `INSERT INTO email_templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, templateArgs(&t)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTemplate replaces a template (PUT; PATCH merges first).
func (s *Service) UpdateTemplate(ctx context.Context, id uuid.UUID, t Template) (out *Template, err error) {
	defer errs.Wrap(&err, "UpdateTemplate(%s)", id)
	if err := validateTemplate(&t); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getTemplate(ctx, tx, id)
		if err != nil {
			return err
		}
		t.ID, t.Created, t.Updated = id, cur.Created, tx.Now()
		_, err = tx.Exec(ctx, `UPDATE email_templates SET name = ?, default_subject = ?, default_html = ?, default_text = ?,
			default_from_name = ?, from_email = ?, localized_subjects = ?, localized_html = ?, localized_text = ?,
			localized_from_names = ?, updated = ? WHERE id = ?`,
			t.Name, t.DefaultSubject, t.DefaultHTML, t.DefaultText, t.DefaultFromName, t.FromEmail, jsonText(t.LocalizedSubjects),
			jsonText(t.LocalizedHTML), jsonText(t.LocalizedText), jsonText(t.LocalizedFromNames), t.Updated, id.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTemplate removes a template no action definition uses.
func (s *Service) DeleteTemplate(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteTemplate(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		var users int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM user_action_definitions WHERE start_template_id = ? OR modify_template_id = ?
			OR cancel_template_id = ? OR end_template_id = ?`, id.String(), id.String(), id.String(), id.String()).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return errs.Coded("inUse", "emailTemplateId", "The template is used by %d user action(s); change them first.", users)
		}
		res, err := tx.Exec(ctx, `DELETE FROM email_templates WHERE id = ?`, id.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("email template not found")
		}
		return nil
	})
}
