package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// eventRoutes registers the webhook event log (staff): the events heed
// sent to webhooks, their delivery attempts, and replay.
func (c *Console) eventRoutes() {
	if c.Events == nil {
		return
	}
	m := c.mux
	m.Handle("GET "+Prefix+"events/{$}", c.page(c.eventList))
	m.Handle("GET "+Prefix+"events/{id}/{$}", c.page(c.eventPage))
	m.Handle("POST "+Prefix+"events/{id}/replay", c.page(c.eventReplay))
}

// eventPeriods are the list's time filter: how far back it looks.
var eventPeriods = []struct {
	Value, Label string
	D            time.Duration
}{
	{"hour", "Last hour", time.Hour},
	{"day", "Last day", 24 * time.Hour},
	{"week", "Last 7 days", 7 * 24 * time.Hour},
	{"month", "Last 30 days", 30 * 24 * time.Hour},
	{"year", "Last year", 365 * 24 * time.Hour},
}

// eventResults are the results the service filters by.
var eventResults = []string{events.ResultRunning, events.ResultSucceeded, events.ResultFailed}

type eventsData struct {
	Type, Result, Period, Q string
	Types, Results          []string
	Periods                 any
	Rows                    []*events.EventLog
	Pager                   pager
}

// eventList searches the webhook event log: newest first, by type,
// result, period and text within the payload.
func (c *Console) eventList(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := userStaffOnly(s); err != nil {
		return err
	}
	q := r.URL.Query()
	d := eventsData{Type: q.Get("type"), Result: q.Get("result"), Period: q.Get("period"), Q: strings.TrimSpace(q.Get("q")),
		Types: events.Types, Results: eventResults, Periods: eventPeriods}
	if !events.KnownType(d.Type) {
		d.Type = ""
	}
	found := false
	for _, x := range eventResults {
		found = found || x == d.Result
	}
	if !found {
		d.Result = ""
	}
	period := 7 * 24 * time.Hour
	ok := false
	for _, p := range eventPeriods {
		if p.Value == d.Period {
			period, ok = p.D, true
		}
	}
	if !ok {
		d.Period = "week"
	}
	now := c.Clock().UTC()
	page, n := listPage(r)
	list, total, err := c.Events.SearchEventLogs(r.Context(), events.EventLogSearch{
		Start: now.Add(-period), End: now.Add(time.Minute), Type: d.Type, Result: d.Result, Event: d.Q,
		NumberOfResults: page.Limit, StartRow: page.Offset,
	})
	if err != nil {
		return err
	}
	d.Rows, d.Pager = list, pagerFor(r, n, total)
	c.render(w, r, http.StatusOK, "events", s, "Event log", d)
	return nil
}

// eventWebhook is a webhook the event went to, for the replay choice.
type eventWebhook struct {
	ID      uuid.UUID
	Label   string
	Enabled bool
}

type eventData struct {
	Event    *events.EventLog
	Body     string
	Webhooks []eventWebhook
	// Replayable: at least one of the event's webhooks is enabled.
	Replayable bool
}

func (c *Console) eventPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := userStaffOnly(s); err != nil {
		return err
	}
	ctx := r.Context()
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	e, err := c.Events.GetEventLog(ctx, id)
	if err != nil {
		return err
	}
	d := eventData{Event: e, Body: string(e.Body)}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Body, "", "  ") == nil {
		d.Body = pretty.String()
	}
	for _, hid := range e.WebhookIDs {
		wh := eventWebhook{ID: hid, Label: hid.String() + " (deleted)"}
		switch hook, err := c.Events.GetWebhook(ctx, hid); {
		case err == nil:
			wh.Label, wh.Enabled = hook.URL, hook.Enabled
			if hook.Description != "" {
				wh.Label = hook.Description + " — " + hook.URL
			}
			if !hook.Enabled {
				wh.Label += " (disabled)"
			}
		case errs.KindOf(err) != errs.NotFound:
			return err
		}
		d.Replayable = d.Replayable || wh.Enabled
		d.Webhooks = append(d.Webhooks, wh)
	}
	c.render(w, r, http.StatusOK, "event", s, "Event "+e.Type, d)
	return nil
}

// eventReplay delivers the event again, with the same id and bytes, to the
// chosen webhook or to every one of its webhooks still enabled.
func (c *Console) eventReplay(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := userStaffOnly(s); err != nil {
		return err
	}
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var hook uuid.UUID
	if v := r.PostFormValue("webhook"); v != "" {
		if hook, err = uuid.Parse(v); err != nil {
			return errs.Field("webhook", "Choose one of the event's webhooks.")
		}
	}
	n, err := c.Events.Replay(r.Context(), id, hook)
	if err != nil {
		return err
	}
	msg := "Replay queued: " + strconv.Itoa(n) + " deliveries. They show below as new attempts."
	if n == 1 {
		msg = "Replay queued: 1 delivery. It shows below as a new attempt."
	}
	return c.redirectWith(w, r, Prefix+"events/"+id.String()+"/", msg)
}
