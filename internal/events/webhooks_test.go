package events_test

import (
	"context"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
)

// TestWebhookValidation: CreateWebhook refuses what FusionAuth refuses,
// with its field codes, collecting every problem, and stores nothing.
func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{NoWork: true}, func(t *testing.T, e *env) {
		ctx := context.Background()
		key, err := e.Events.GenerateKey(ctx, events.Key{Name: "k", Algorithm: "HS256"})
		if err != nil {
			t.Fatal(err)
		}
		tn := tenant(t, e.Events, "T", nil)
		valid := func() events.Webhook {
			return events.Webhook{URL: "https://example.com/hook", ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second,
				EventsEnabled: map[string]bool{events.TypeUserAction: true}, TenantIDs: []uuid.UUID{tn},
				SignatureEnabled: true, SigningKeyID: key.ID, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
				Headers: map[string]string{"X-Custom": "v"}}
		}
		cases := []struct {
			name   string
			change func(w *events.Webhook)
			want   map[string][]string
		}{
			{"blank url", func(w *events.Webhook) { w.URL = "" }, map[string][]string{"webhook.url": {"blank"}}},
			{"spaces for a url", func(w *events.Webhook) { w.URL = "   " }, map[string][]string{"webhook.url": {"blank"}}},
			{"not a url", func(w *events.Webhook) { w.URL = "example.com/hook" }, map[string][]string{"webhook.url": {"invalid"}}},
			{"not http", func(w *events.Webhook) { w.URL = "ftp://example.com/" }, map[string][]string{"webhook.url": {"invalid"}}},
			{"no host", func(w *events.Webhook) { w.URL = "http:///path" }, map[string][]string{"webhook.url": {"invalid"}}},
			{"blank timeouts", func(w *events.Webhook) { w.ConnectTimeout, w.ReadTimeout = 0, 0 },
				map[string][]string{"webhook.connectTimeout": {"blank"}, "webhook.readTimeout": {"blank"}}},
			{"timeouts too long", func(w *events.Webhook) { w.ConnectTimeout, w.ReadTimeout = time.Minute, time.Minute },
				map[string][]string{"webhook.connectTimeout": {"invalid"}, "webhook.readTimeout": {"invalid"}}},
			{"unknown event type", func(w *events.Webhook) { w.EventsEnabled["user.created"] = true },
				map[string][]string{"webhook.eventsEnabled": {"invalid"}}},
			{"secret too short", func(w *events.Webhook) { w.Secret = "whsec_abc" }, map[string][]string{"webhook.secret": {"invalid"}}},
			{"secret not base64", func(w *events.Webhook) { w.Secret = "whsec_" + strings.Repeat("A", 33) },
				map[string][]string{"webhook.secret": {"invalid"}}},
			{"signing without a key", func(w *events.Webhook) { w.SigningKeyID = uuid.Nil },
				map[string][]string{"webhook.signatureConfiguration.signingKeyId": {"missing"}}},
			{"unknown key", func(w *events.Webhook) { w.SigningKeyID = uuid.New() },
				map[string][]string{"webhook.signatureConfiguration.signingKeyId": {"invalid"}}},
			{"unknown tenant", func(w *events.Webhook) { w.TenantIDs = append(w.TenantIDs, uuid.New()) },
				map[string][]string{"webhook.tenantIds": {"invalid"}}},
			{"reserved header", func(w *events.Webhook) { w.Headers["webhook-signature"] = "forged" },
				map[string][]string{"webhook.headers": {"invalid"}}},
			{"header injection", func(w *events.Webhook) { w.Headers["X-Custom"] = "v\r\nX-Other: w" },
				map[string][]string{"webhook.headers": {"invalid"}}},
			{"everything at once", func(w *events.Webhook) {
				*w = events.Webhook{SignatureEnabled: true, Secret: "nope", EventsEnabled: map[string]bool{"nope": true}}
			}, map[string][]string{
				"webhook.url": {"blank"}, "webhook.connectTimeout": {"blank"}, "webhook.readTimeout": {"blank"},
				"webhook.eventsEnabled": {"invalid"}, "webhook.secret": {"invalid"},
				"webhook.signatureConfiguration.signingKeyId": {"missing"},
			}},
		}
		for _, c := range cases {
			w := valid()
			c.change(&w)
			_, err := e.Events.CreateWebhook(ctx, w)
			got := fieldCodes(t, err)
			if len(got) != len(c.want) {
				t.Errorf("%s: codes %v, want %v", c.name, got, c.want)
				continue
			}
			for f, codes := range c.want {
				if !slices.Equal(got[f], codes) {
					t.Errorf("%s: %s codes %v, want %v (all: %v)", c.name, f, got[f], codes, got)
				}
			}
			if e, _ := errs.As(err); e.Message == "" {
				t.Errorf("%s: no message", c.name)
			}
		}
		if ws, err := e.Events.ListWebhooks(ctx); err != nil || len(ws) != 0 {
			t.Fatalf("refused webhooks were stored: %d (%v)", len(ws), err)
		}
		w, err := e.Events.CreateWebhook(ctx, valid())
		if err != nil {
			t.Fatalf("the valid webhook: %v", err)
		}
		// Updates validate the same way, and a failed one changes nothing.
		bad := valid()
		bad.URL = ""
		if _, err := e.Events.UpdateWebhook(ctx, w.ID, bad); !slices.Equal(fieldCodes(t, err)["webhook.url"], []string{"blank"}) {
			t.Errorf("UpdateWebhook with a blank url: %v", err)
		}
		if cur, err := e.Events.GetWebhook(ctx, w.ID); err != nil || cur.URL != "https://example.com/hook" {
			t.Errorf("after a refused update: %+v (%v)", cur, err)
		}
		if _, err := e.Events.UpdateWebhook(ctx, uuid.New(), valid()); errs.KindOf(err) != errs.NotFound {
			t.Errorf("UpdateWebhook of an unknown id: %v; want NotFound", err)
		}
		dup := valid()
		dup.ID = w.ID
		if _, err := e.Events.CreateWebhook(ctx, dup); !slices.Equal(fieldCodes(t, err)["webhookId"], []string{"duplicate"}) {
			t.Errorf("CreateWebhook with a taken id: %v; want [duplicate]webhookId", err)
		}
		// A key in use cannot go.
		if err := e.Events.DeleteKey(ctx, key.ID); !slices.Equal(fieldCodes(t, err)["keyId"], []string{"inUse"}) {
			t.Errorf("DeleteKey of a key in use: %v; want [inUse]keyId", err)
		}
	})
}

var generatedSecret = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{32}$`)

// TestWebhookSecrets: a generated secret is whsec_ and 24 random bytes,
// shown once; reads never show the secret or the password; an update that
// leaves the secret empty keeps it, one that sets it replaces it.
func TestWebhookSecrets(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{NoWork: true}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w, err := e.Events.CreateWebhook(ctx, events.Webhook{URL: "https://example.com/a", ConnectTimeout: time.Second,
			ReadTimeout: time.Second, Username: "u", Password: "p", Description: "first"})
		if err != nil {
			t.Fatal(err)
		}
		if !generatedSecret.MatchString(w.Secret) {
			t.Fatalf("generated secret %q; want whsec_ and 24 bytes of base64", w.Secret)
		}
		if raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_")); len(raw) != 24 {
			t.Errorf("secret decodes to %d bytes, want 24", len(raw))
		}
		other, err := e.Events.CreateWebhook(ctx, events.Webhook{URL: "https://example.com/b", ConnectTimeout: time.Second, ReadTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if other.Secret == w.Secret {
			t.Error("two webhooks got the same generated secret")
		}
		got, err := e.Events.GetWebhook(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != "" || got.Password != "" || got.Username != "u" {
			t.Errorf("GetWebhook shows secret %q, password %q (username %q)", got.Secret, got.Password, got.Username)
		}
		list, err := e.Events.ListWebhooks(ctx)
		if err != nil || len(list) != 2 || list[0].Secret != "" || list[1].Secret != "" || list[0].Password != "" {
			t.Errorf("ListWebhooks shows secrets or the wrong webhooks: %+v (%v)", list, err)
		}

		// PATCH-like: change the description, leave the secret empty.
		base, err := e.Events.WebhookForMerge(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		base.Secret = ""
		base.Description = "renamed"
		upd, err := e.Events.UpdateWebhook(ctx, w.ID, *base)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Secret != "" || upd.Description != "renamed" || !upd.Created.Equal(w.Created) || !upd.Updated.After(w.Updated) {
			t.Errorf("update answered %+v", upd)
		}
		kept, err := e.Events.WebhookForMerge(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if kept.Secret != w.Secret || kept.Password != "p" || kept.Description != "renamed" {
			t.Errorf("after the update: secret %q (want %q), password %q, description %q", kept.Secret, w.Secret, kept.Password, kept.Description)
		}
		kept.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		if _, err := e.Events.UpdateWebhook(ctx, w.ID, *kept); err != nil {
			t.Fatal(err)
		}
		if now, _ := e.Events.WebhookForMerge(ctx, w.ID); now.Secret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
			t.Errorf("an update setting the secret left %q", now.Secret)
		}
		if err := e.Events.DeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Events.GetWebhook(ctx, w.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("GetWebhook after delete: %v", err)
		}
		if err := e.Events.DeleteWebhook(ctx, w.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("second delete: %v", err)
		}
	})
}

// TestWebhookSearch: FusionAuth's search — description and url wildcards
// (case-insensitive, implicit *value*), tenantId with the global webhooks,
// orderBy and paging.
func TestWebhookSearch(t *testing.T) {
	t.Parallel()
	eachEnv(t, fastConfig(), envOptions{NoWork: true}, func(t *testing.T, e *env) {
		ctx := context.Background()
		t1 := tenant(t, e.Events, "one", nil)
		t2 := tenant(t, e.Events, "two", nil)
		mk := func(desc, url string, global bool, tenants ...uuid.UUID) uuid.UUID {
			w, err := e.Events.CreateWebhook(ctx, events.Webhook{URL: url, Description: desc, ConnectTimeout: time.Second,
				ReadTimeout: time.Second, Global: global, TenantIDs: tenants})
			if err != nil {
				t.Fatal(err)
			}
			return w.ID
		}
		a := mk("alpha hook", "http://a.example.com/one", false, t1)
		b := mk("Beta HOOK", "http://b.example.com/two", true)
		c := mk("gamma", "http://c.example.org/three", false, t2)
		d := mk("alphabet soup", "https://d.example.com/four", false, t1, t2)
		name := map[uuid.UUID]string{a: "a", b: "b", c: "c", d: "d"}

		search := func(q events.WebhookSearch) ([]string, int) {
			t.Helper()
			if q.NumberOfResults == 0 {
				q.NumberOfResults = 25
			}
			ws, total, err := e.Events.SearchWebhooks(ctx, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			var out []string
			for _, w := range ws {
				out = append(out, name[w.ID])
			}
			return out, total
		}
		cases := []struct {
			q     events.WebhookSearch
			want  []string
			total int
		}{
			{events.WebhookSearch{}, []string{"b", "a", "d", "c"}, 4}, // description ASC, byte order
			{events.WebhookSearch{Description: "ALPHA"}, []string{"a", "d"}, 2},
			{events.WebhookSearch{Description: "*hook"}, []string{"b", "a"}, 2},
			{events.WebhookSearch{Description: "alpha*"}, []string{"a", "d"}, 2},
			{events.WebhookSearch{Description: "*a*o*"}, []string{"b", "a", "d"}, 3},
			{events.WebhookSearch{Description: "hook*"}, nil, 0},
			{events.WebhookSearch{URL: "example.org"}, []string{"c"}, 1},
			{events.WebhookSearch{URL: "https://*"}, []string{"d"}, 1},
			{events.WebhookSearch{URL: "http://*.com/*", OrderBy: "url"}, []string{"a", "b"}, 2},
			{events.WebhookSearch{TenantID: t1, OrderBy: "url"}, []string{"a", "b", "d"}, 3},
			{events.WebhookSearch{TenantID: t2, OrderBy: "url"}, []string{"b", "c", "d"}, 3},
			{events.WebhookSearch{TenantID: uuid.New()}, []string{"b"}, 1},
			{events.WebhookSearch{TenantID: t1, Description: "alpha", OrderBy: "description DESC"}, []string{"d", "a"}, 2},
			{events.WebhookSearch{OrderBy: "url DESC"}, []string{"d", "c", "b", "a"}, 4},
			{events.WebhookSearch{OrderBy: "insertInstant"}, []string{"a", "b", "c", "d"}, 4},
			{events.WebhookSearch{OrderBy: "insertinstant desc"}, []string{"d", "c", "b", "a"}, 4},
			{events.WebhookSearch{OrderBy: "url", NumberOfResults: 2}, []string{"a", "b"}, 4},
			{events.WebhookSearch{OrderBy: "url", NumberOfResults: 2, StartRow: 2}, []string{"c", "d"}, 4},
			{events.WebhookSearch{OrderBy: "url", NumberOfResults: 2, StartRow: 3}, []string{"d"}, 4},
			{events.WebhookSearch{OrderBy: "url", StartRow: 4}, nil, 4},
		}
		for _, c := range cases {
			got, total := search(c.q)
			if !slices.Equal(got, c.want) || total != c.total {
				t.Errorf("search %+v: %v (total %d), want %v (total %d)", c.q, got, total, c.want, c.total)
			}
		}
		ids, _ := search(events.WebhookSearch{OrderBy: "id"})
		byID := []uuid.UUID{a, b, c, d}
		slices.SortFunc(byID, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
		for i, id := range byID {
			if ids[i] != name[id] {
				t.Errorf("orderBy id: %v, want the ids' order", ids)
				break
			}
		}
		for _, bad := range []string{"name", "url sideways", "url ASC extra"} {
			_, _, err := e.Events.SearchWebhooks(ctx, events.WebhookSearch{OrderBy: bad, NumberOfResults: 25})
			if !slices.Equal(fieldCodes(t, err)["search.orderBy"], []string{"invalid"}) {
				t.Errorf("orderBy %q: %v; want [invalid]search.orderBy", bad, err)
			}
		}
		// Deleting a tenant drops it from the webhooks that listed it.
		if err := e.Events.DeleteTenant(ctx, t1); err != nil {
			t.Fatal(err)
		}
		if got, _ := search(events.WebhookSearch{TenantID: t1, OrderBy: "url"}); !slices.Equal(got, []string{"b"}) {
			t.Errorf("after deleting the tenant, its webhooks are %v; want only the global one", got)
		}
		if w, err := e.Events.GetWebhook(ctx, d); err != nil || !slices.Equal(w.TenantIDs, []uuid.UUID{t2}) {
			t.Errorf("webhook d lists %v after its tenant went (%v); want only %s", w.TenantIDs, err, t2)
		}
	})
}
