package actioning

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/mail"
)

// UserActionEvent is the body of FusionAuth's user.action event, beside
// the envelope's type, id, createInstant, tenantId and linkedObjectId.
// Instants are epoch ms; empty values are omitted. actioneeId/actionerId
// (the event docs' names) and actioneeUserId/actionerUserId (the client
// models' and real payloads') carry the same values, so consumers written
// against either work. user is heed's addition (FusionAuth issue #3550).
type UserActionEvent struct {
	Action            string         `json:"action"`
	ActionID          string         `json:"actionId" doc:"The action instance's id."`
	ActioneeID        string         `json:"actioneeId"`
	ActioneeUserID    string         `json:"actioneeUserId"`
	ActionerID        string         `json:"actionerId,omitempty" doc:"Absent when heed took the action."`
	ActionerUserID    string         `json:"actionerUserId,omitempty"`
	ApplicationIDs    []string       `json:"applicationIds"`
	Comment           string         `json:"comment,omitempty"`
	Email             *Rendered      `json:"email,omitempty" doc:"The rendered email, when the action has includeEmailInEventJSON and the phase has a template."`
	EmailedUser       bool           `json:"emailedUser" doc:"Whether heed queued an email to the user for this event."`
	Expiry            *int64         `json:"expiry,omitempty"`
	Info              map[string]any `json:"info,omitempty"`
	LocalizedAction   string         `json:"localizedAction"`
	LocalizedDuration string         `json:"localizedDuration,omitempty"`
	LocalizedOption   string         `json:"localizedOption,omitempty"`
	LocalizedReason   string         `json:"localizedReason,omitempty"`
	NotifyUser        bool           `json:"notifyUser"`
	Option            string         `json:"option,omitempty"`
	Phase             string         `json:"phase,omitempty" enum:"start,modify,cancel,end" doc:"Temporal actions only."`
	Reason            string         `json:"reason,omitempty"`
	ReasonCode        string         `json:"reasonCode,omitempty"`
	User              *TemplateUser  `json:"user,omitempty" doc:"heed: the actionee, without secrets."`
}

// announcement is what a phase tells: the event (when broadcast) and the
// email (when asked).
type announcement struct {
	broadcast, emailUser, notifyUser bool
	actioner                         uuid.UUID
	comment                          string
	info                             map[string]any
	now                              time.Time
}

func eventInfo(req Request) map[string]any {
	info := map[string]any{}
	for k, v := range req.Info {
		info[k] = v
	}
	if _, ok := info["ipAddress"]; !ok && req.ClientAddr != "" {
		info["ipAddress"] = req.ClientAddr
	}
	if len(info) == 0 {
		return nil
	}
	return info
}

// TemplateUserOf is u as templates and events see it.
func TemplateUserOf(u *auth.User) TemplateUser {
	langs := u.PreferredLanguages
	if langs == nil {
		langs = []string{}
	}
	return TemplateUser{ID: u.UUID.String(), TenantID: events.DefaultTenantID.String(), Username: u.Username, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, FullName: u.FullName, PreferredLanguages: langs, Active: u.IsActive,
		InsertInstant: u.Created.UnixMilli(), LastUpdateInstant: u.Modified.UnixMilli()}
}

// announce builds the phase's event and email for in, in tx: the email is
// queued as a job (sent after commit, never for a rolled-back change) and
// the event published (delivered after commit, or now under a
// transactional level, which may veto the change).
func (s *Service) announce(ctx context.Context, tx *db.Tx, in *Instance, phase string, actionee *auth.User, a announcement) error {
	d := in.def
	var langs []string
	user := TemplateUser{ID: in.ActioneeID.String(), TenantID: events.DefaultTenantID.String(), PreferredLanguages: []string{}}
	if actionee != nil {
		user = TemplateUserOf(actionee)
		langs = actionee.PreferredLanguages
	}
	ev := UserActionEvent{
		Action: d.Name, ActionID: in.ID.String(), ActioneeID: in.ActioneeID.String(), ActioneeUserID: in.ActioneeID.String(),
		ApplicationIDs: uuidStrings(in.ApplicationIDs), Comment: a.comment, Info: a.info,
		LocalizedAction: Localize(d.Name, d.LocalizedNames, langs), NotifyUser: a.notifyUser, Phase: phase,
		Reason: in.Reason, ReasonCode: in.ReasonCode, User: &user,
	}
	if in.Reason != "" {
		ev.LocalizedReason = Localize(in.Reason, in.LocalizedReasons, langs)
	}
	if a.actioner != uuid.Nil {
		ev.ActionerID, ev.ActionerUserID = a.actioner.String(), a.actioner.String()
	}
	if in.Option != "" {
		ev.Option = in.Option
		if o, ok := d.HasOption(in.Option); ok {
			ev.LocalizedOption = Localize(o.Name, o.LocalizedNames, langs)
		} else {
			ev.LocalizedOption = in.Option
		}
	}
	if in.Temporal && in.Expiry != nil {
		exp := *in.Expiry
		ev.Expiry = &exp
		if (phase == PhaseStart || phase == PhaseModify) && exp != Forever {
			ev.LocalizedDuration = LocalizedDuration(time.UnixMilli(exp).Sub(a.now), langs)
		}
	}
	data := TemplateData{Actionee: user, Action: ev.Action, LocalizedAction: ev.LocalizedAction, Option: ev.Option,
		LocalizedOption: ev.LocalizedOption, Reason: ev.Reason, LocalizedReason: ev.LocalizedReason, ReasonCode: ev.ReasonCode,
		Comment: ev.Comment, Phase: phase, LocalizedDuration: ev.LocalizedDuration}
	if ev.Expiry != nil && *ev.Expiry != Forever {
		t := time.UnixMilli(*ev.Expiry).UTC()
		data.Expiry = &t
	}
	if a.actioner != uuid.Nil {
		if u, err := auth.UserByUUID(ctx, tx, a.actioner); err == nil {
			tu := TemplateUserOf(u)
			data.Actioner = &tu
		}
	}
	email, err := s.render(ctx, tx, d, phase, data, user)
	if err != nil {
		return err
	}
	if d.IncludeEmailInEventJSON {
		ev.Email = email
	}
	if a.emailUser && d.UserEmailingEnabled && email != nil && user.Email != "" {
		if err := s.Jobs.Enqueue(ctx, tx, EmailArgs{To: user.Email, From: email.From.Address, FromName: email.From.Display,
			Subject: email.Subject, Text: email.Text, HTML: email.HTML}, nil); err != nil {
			return err
		}
		ev.EmailedUser = true
	}
	if !a.broadcast {
		return nil
	}
	_, err = s.Events.Publish(ctx, tx, events.Event{
		Type: events.TypeUserAction, TenantID: events.DefaultTenantID, LinkedObjectID: in.ActioneeID,
		Fields: ev, TransactionType: d.TransactionType,
	})
	return err
}

// render renders the phase's template, or returns nil when there is none.
func (s *Service) render(ctx context.Context, c db.Conn, d *Definition, phase string, data TemplateData, user TemplateUser) (*Rendered, error) {
	id := d.templateFor(phase)
	if id == uuid.Nil {
		return nil, nil
	}
	t, err := getTemplate(ctx, c, id)
	if err != nil {
		return nil, err
	}
	// The sender: the template's, else the tenant's defaults, else the
	// address heed's mail goes out from (--mail-from).
	from := s.DefaultFrom
	if tenant, err := s.Events.GetTenant(ctx, events.DefaultTenantID); err == nil {
		if tenant.FromEmail != "" {
			from.Address = tenant.FromEmail
		}
		if tenant.FromName != "" {
			from.Display = tenant.FromName
		}
	}
	display := user.FullName
	if display == "" {
		display = user.FirstName
	}
	r, err := t.Render(data, Address{Address: user.Email, Display: display}, from)
	if err != nil {
		return nil, fmt.Errorf("render %s email: %w", phase, err)
	}
	return r, nil
}

// EmailArgs is an action email, rendered when the change committed.
type EmailArgs struct {
	To       string `json:"to"`
	From     string `json:"from,omitempty"`
	FromName string `json:"from_name,omitempty"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// Kind implements river.JobArgs.
func (EmailArgs) Kind() string { return "user_action_email" }

type emailWorker struct {
	river.WorkerDefaults[EmailArgs]
	s *Service
}

func (w *emailWorker) Timeout(*river.Job[EmailArgs]) time.Duration { return 30 * time.Second }

func (w *emailWorker) Work(ctx context.Context, job *river.Job[EmailArgs]) error {
	if w.s.Mail == nil {
		return nil
	}
	a := job.Args
	return w.s.Mail.Send(ctx, mail.Message{To: a.To, From: a.From, FromName: a.FromName, Subject: a.Subject, Text: a.Text, HTML: a.HTML})
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
