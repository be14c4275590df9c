package events

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Webhook is a subscription: where to POST which events, how to sign them.
type Webhook struct {
	ID             uuid.UUID
	URL            string
	Description    string
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	Headers        map[string]string
	Username       string
	Password       string
	EventsEnabled  map[string]bool
	Global         bool
	TenantIDs      []uuid.UUID
	Data           json.RawMessage
	// SignatureEnabled adds X-FusionAuth-Signature-JWT, signed with the key
	// SigningKeyID names.
	SignatureEnabled bool
	SigningKeyID     uuid.UUID
	// Secret signs the Standard Webhooks headers (whsec_…).
	Secret string
	// Enabled is false once heed disabled the webhook (410 Gone, or failing
	// for Config.DisableAfter) or an operator did; one PATCH re-enables it.
	Enabled        bool
	FailingSince   *time.Time
	DisabledAt     *time.Time
	DisabledReason string
	Created        time.Time
	Updated        time.Time

	// key is the signing key, loaded with the webhook for deliveries.
	key *Key
}

// Timeout bounds: one delivery attempt (connect plus read) must end well
// inside the delivery job's timeout, from which River's rescue of jobs
// left by a dead process is derived.
const (
	MaxConnectTimeout = 10 * time.Second
	MaxReadTimeout    = 15 * time.Second
	deliveryTimeout   = MaxConnectTimeout + MaxReadTimeout
)

var (
	secretPattern     = regexp.MustCompile(`^(whsec_)?[A-Za-z0-9+/=]{32,100}$`)
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// reservedHeaders are set by heed on every delivery; a webhook cannot
// override them.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Authorization": true,
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true, "X-Fusionauth-Signature-Jwt": true,
}

// NewSecret returns a Standard Webhooks secret: whsec_ and 24 random bytes
// in base64, as Svix makes them.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// validate checks w as FusionAuth would, with its error codes.
func (s *Service) validate(ctx context.Context, c db.Conn, w *Webhook) error {
	e := &errs.Error{Kind: errs.Invalid}
	if strings.TrimSpace(w.URL) == "" {
		e.Add("blank", "webhook.url", "You must specify the [webhook.url] property.")
	} else if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.Add("invalid", "webhook.url", "The [webhook.url] property must be a fully qualified http or https URL.")
	} else if err := s.out.checkLiteral(u.Hostname()); err != nil {
		e.Add("invalid", "webhook.url", "The [webhook.url] property is not allowed: %v.", err)
	}
	if w.ConnectTimeout <= 0 {
		e.Add("blank", "webhook.connectTimeout", "You must specify the [webhook.connectTimeout] property, in milliseconds.")
	} else if w.ConnectTimeout > MaxConnectTimeout {
		e.Add("invalid", "webhook.connectTimeout", "The [webhook.connectTimeout] property must be at most %d.", MaxConnectTimeout.Milliseconds())
	}
	if w.ReadTimeout <= 0 {
		e.Add("blank", "webhook.readTimeout", "You must specify the [webhook.readTimeout] property, in milliseconds.")
	} else if w.ReadTimeout > MaxReadTimeout {
		e.Add("invalid", "webhook.readTimeout", "The [webhook.readTimeout] property must be at most %d.", MaxReadTimeout.Milliseconds())
	}
	for name, v := range w.Headers {
		if !headerNamePattern.MatchString(name) || reservedHeaders[http.CanonicalHeaderKey(name)] || strings.ContainsAny(v, "\r\n") {
			e.Add("invalid", "webhook.headers", "The header [%s] cannot be set on a webhook.", name)
		}
	}
	for typ := range w.EventsEnabled {
		if !KnownType(typ) {
			e.Add("invalid", "webhook.eventsEnabled", "The event type [%s] is unknown. Known types: %s.", typ, strings.Join(Types, ", "))
		}
	}
	if w.Secret != "" && !secretPattern.MatchString(w.Secret) {
		e.Add("invalid", "webhook.secret", "The [webhook.secret] property must be whsec_ followed by 32 to 100 base64 characters.")
	} else if w.Secret != "" {
		if _, err := decodeSecret(w.Secret); err != nil {
			e.Add("invalid", "webhook.secret", "The [webhook.secret] property is not valid base64.")
		}
	}
	if w.SignatureEnabled && w.SigningKeyID == uuid.Nil {
		e.Add("missing", "webhook.signatureConfiguration.signingKeyId", "You must specify the [webhook.signatureConfiguration.signingKeyId] property when signing is enabled.")
	}
	if w.SigningKeyID != uuid.Nil {
		if _, err := getKey(ctx, c, w.SigningKeyID); errs.KindOf(err) == errs.NotFound {
			e.Add("invalid", "webhook.signatureConfiguration.signingKeyId", "The key [%s] does not exist.", w.SigningKeyID)
		} else if err != nil {
			return err
		}
	}
	if len(w.TenantIDs) > 0 {
		known, err := existingTenants(ctx, c, w.TenantIDs)
		if err != nil {
			return err
		}
		for _, id := range w.TenantIDs {
			if !known[id] {
				e.Add("invalid", "webhook.tenantIds", "The tenant [%s] does not exist.", id)
			}
		}
	}
	return e.OrNil()
}

func normalise(w *Webhook) {
	w.URL = strings.TrimSpace(w.URL)
	if w.Headers == nil {
		w.Headers = map[string]string{}
	}
	if w.EventsEnabled == nil {
		w.EventsEnabled = map[string]bool{}
	}
	slices.SortFunc(w.TenantIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	w.TenantIDs = slices.Compact(w.TenantIDs)
	if w.TenantIDs == nil {
		w.TenantIDs = []uuid.UUID{}
	}
	if len(w.Data) == 0 || string(w.Data) == "null" {
		w.Data = json.RawMessage("{}")
	}
}

// CreateWebhook stores w; a zero ID gets a random one, an empty secret a
// generated one. The returned webhook carries the secret: the only time
// it is shown.
func (s *Service) CreateWebhook(ctx context.Context, w Webhook) (out *Webhook, err error) {
	defer errs.Wrap(&err, "CreateWebhook")
	normalise(&w)
	if w.ID == uuid.Nil {
		w.ID = uuid.New()
	}
	if w.Secret == "" {
		w.Secret = NewSecret()
	}
	w.Enabled = true
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.validate(ctx, tx, &w); err != nil {
			return err
		}
		w.Created = tx.Now()
		w.Updated = w.Created
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (id, url, description, connect_timeout_ms, read_timeout_ms, headers,
			http_username, http_password, events_enabled, is_global, tenant_ids, data, signature_enabled, signing_key_id,
			secret, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID.String(), w.URL, w.Description, w.ConnectTimeout.Milliseconds(), w.ReadTimeout.Milliseconds(), jsonText(w.Headers),
			w.Username, w.Password, jsonText(w.EventsEnabled), w.Global, jsonText(w.TenantIDs), string(w.Data), w.SignatureEnabled,
			nullUUID(w.SigningKeyID), w.Secret, true, w.Created, w.Updated)
		if db.IsUniqueViolation(err) {
			return errs.Coded("duplicate", "webhookId", "A webhook with id [%s] already exists.", w.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// UpdateWebhook replaces the webhook's settings with w's (PUT; PATCH merges
// first). An empty secret keeps the stored one. Enabling a disabled webhook
// clears its failure record.
func (s *Service) UpdateWebhook(ctx context.Context, id uuid.UUID, w Webhook) (out *Webhook, err error) {
	defer errs.Wrap(&err, "UpdateWebhook(%s)", id)
	normalise(&w)
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getWebhook(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.validate(ctx, tx, &w); err != nil {
			return err
		}
		w.ID, w.Created, w.Updated = id, cur.Created, tx.Now()
		if w.Secret == "" {
			w.Secret = cur.Secret
		}
		w.FailingSince, w.DisabledAt, w.DisabledReason = cur.FailingSince, cur.DisabledAt, cur.DisabledReason
		if w.Enabled && !cur.Enabled {
			w.FailingSince, w.DisabledAt, w.DisabledReason = nil, nil, ""
		} else if !w.Enabled && cur.Enabled {
			now := w.Updated
			w.DisabledAt, w.DisabledReason = &now, "Disabled through the API."
		}
		_, err = tx.Exec(ctx, `UPDATE webhooks SET url = ?, description = ?, connect_timeout_ms = ?, read_timeout_ms = ?,
			headers = ?, http_username = ?, http_password = ?, events_enabled = ?, is_global = ?, tenant_ids = ?, data = ?,
			signature_enabled = ?, signing_key_id = ?, secret = ?, enabled = ?, failing_since = ?, disabled_at = ?,
			disabled_reason = ?, updated = ? WHERE id = ?`,
			w.URL, w.Description, w.ConnectTimeout.Milliseconds(), w.ReadTimeout.Milliseconds(), jsonText(w.Headers),
			w.Username, w.Password, jsonText(w.EventsEnabled), w.Global, jsonText(w.TenantIDs), string(w.Data),
			w.SignatureEnabled, nullUUID(w.SigningKeyID), w.Secret, w.Enabled, w.FailingSince, w.DisabledAt,
			w.DisabledReason, w.Updated, id.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	w.Secret = ""
	return &w, nil
}

// DeleteWebhook removes a webhook. Its attempts stay in the event log, and
// its pending deliveries end as given up when their jobs run.
func (s *Service) DeleteWebhook(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteWebhook(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = ?`, id.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("webhook not found")
		}
		return nil
	})
}

// GetWebhook returns one webhook, without its secrets.
func (s *Service) GetWebhook(ctx context.Context, id uuid.UUID) (w *Webhook, err error) {
	defer errs.Wrap(&err, "GetWebhook(%s)", id)
	return getWebhook(ctx, s.DB.Reader(), id, false)
}

// WebhookForMerge returns a webhook with its stored credentials, as the
// base a PATCH merges into; never shown.
func (s *Service) WebhookForMerge(ctx context.Context, id uuid.UUID) (*Webhook, error) {
	return getWebhook(ctx, s.DB.Reader(), id, true)
}

// WebhookSearch is FusionAuth's webhook search.
type WebhookSearch struct {
	// Description and URL match case-insensitively; * is a wildcard, and
	// a value without one matches anywhere (*value*).
	Description, URL string
	// TenantID keeps that tenant's webhooks and the global ones.
	TenantID        uuid.UUID
	OrderBy         string
	NumberOfResults int
	StartRow        int
}

var webhookOrder = map[string]func(a, b *Webhook) int{
	"description":   func(a, b *Webhook) int { return strings.Compare(a.Description, b.Description) },
	"id":            func(a, b *Webhook) int { return strings.Compare(a.ID.String(), b.ID.String()) },
	"insertinstant": func(a, b *Webhook) int { return a.Created.Compare(b.Created) },
	"url":           func(a, b *Webhook) int { return strings.Compare(a.URL, b.URL) },
}

// ParseOrderBy reads "field [ASC|DESC]" against the allowed fields
// (lower-case keys); it returns the field key and whether it descends.
func ParseOrderBy(s string, allowed []string, def string) (field string, desc bool, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = def
	}
	parts := strings.Fields(s)
	if len(parts) == 0 || len(parts) > 2 {
		return "", false, false
	}
	field = strings.ToLower(parts[0])
	if !slices.Contains(allowed, field) {
		return "", false, false
	}
	if len(parts) == 2 {
		switch strings.ToUpper(parts[1]) {
		case "ASC":
		case "DESC":
			desc = true
		default:
			return "", false, false
		}
	}
	return field, desc, true
}

// Wildcard matches s against FusionAuth's pattern: case-insensitive, * any
// run of characters, and a pattern without * matches anywhere.
func Wildcard(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	if !strings.Contains(pattern, "*") {
		return strings.Contains(s, pattern)
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// ListWebhooks returns every webhook ordered by description, then id.
func (s *Service) ListWebhooks(ctx context.Context) (out []*Webhook, err error) {
	out, _, err = s.SearchWebhooks(ctx, WebhookSearch{NumberOfResults: -1})
	return out, err
}

// SearchWebhooks filters, orders and pages the webhooks. Webhooks are few
// (an installation has tens), so this is done over all of them in memory.
func (s *Service) SearchWebhooks(ctx context.Context, q WebhookSearch) (out []*Webhook, total int, err error) {
	defer errs.Wrap(&err, "SearchWebhooks")
	field, desc, ok := ParseOrderBy(q.OrderBy, []string{"description", "id", "insertinstant", "url"}, "description ASC")
	if !ok {
		return nil, 0, errs.Coded("invalid", "search.orderBy", "The [search.orderBy] property must be one of description, id, insertInstant or url, then ASC or DESC.")
	}
	all, err := loadWebhooks(ctx, s.DB.Reader(), "", false)
	if err != nil {
		return nil, 0, err
	}
	for _, w := range all {
		if q.Description != "" && !Wildcard(q.Description, w.Description) {
			continue
		}
		if q.URL != "" && !Wildcard(q.URL, w.URL) {
			continue
		}
		if q.TenantID != uuid.Nil && !w.Global && !slices.Contains(w.TenantIDs, q.TenantID) {
			continue
		}
		out = append(out, w)
	}
	cmp := webhookOrder[field]
	sort.SliceStable(out, func(i, j int) bool {
		c := cmp(out[i], out[j])
		if c == 0 {
			c = strings.Compare(out[i].ID.String(), out[j].ID.String())
			return c < 0
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	total = len(out)
	if q.NumberOfResults >= 0 {
		start := min(max(q.StartRow, 0), total)
		end := min(start+q.NumberOfResults, total)
		out = out[start:end]
	}
	if out == nil {
		out = []*Webhook{}
	}
	return out, total, nil
}

const webhookColumns = `w.id, w.url, w.description, w.connect_timeout_ms, w.read_timeout_ms, w.headers, w.http_username,
	w.http_password, w.events_enabled, w.is_global, w.tenant_ids, w.data, w.signature_enabled, w.signing_key_id, w.secret,
	w.enabled, w.failing_since, w.disabled_at, w.disabled_reason, w.created, w.updated,
	k.id, k.algorithm, k.kid, k.secret`

func loadWebhooks(ctx context.Context, c db.Conn, where string, withSecrets bool, args ...any) ([]*Webhook, error) {
	q := `SELECT ` + webhookColumns + ` FROM webhooks w LEFT JOIN signing_keys k ON k.id = w.signing_key_id`
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	var out []*Webhook
	for rows.Next() {
		w, err := scanWebhook(rows, withSecrets)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func getWebhook(ctx context.Context, c db.Conn, id uuid.UUID, withSecrets bool) (*Webhook, error) {
	ws, err := loadWebhooks(ctx, c, "w.id = ?", withSecrets, id.String())
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, errs.NotFoundf("webhook not found")
	}
	return ws[0], nil
}

func scanWebhook(r interface{ Scan(...any) error }, withSecrets bool) (*Webhook, error) {
	var (
		w                                        Webhook
		id, headers, events, tenants, data       string
		keyRef, keyID, keyAlg, keyKid, keySecret sql.NullString
		connectMS, readMS                        int64
		failing, disabled                        sql.NullTime
	)
	if err := r.Scan(&id, &w.URL, &w.Description, &connectMS, &readMS, &headers, &w.Username, &w.Password, &events,
		&w.Global, &tenants, &data, &w.SignatureEnabled, &keyRef, &w.Secret, &w.Enabled, &failing, &disabled,
		&w.DisabledReason, &w.Created, &w.Updated, &keyID, &keyAlg, &keyKid, &keySecret); err != nil {
		return nil, fmt.Errorf("scan webhook: %w", err)
	}
	w.ID = uuid.MustParse(id)
	w.ConnectTimeout = time.Duration(connectMS) * time.Millisecond
	w.ReadTimeout = time.Duration(readMS) * time.Millisecond
	if err := errors.Join(json.Unmarshal([]byte(headers), &w.Headers), json.Unmarshal([]byte(events), &w.EventsEnabled),
		json.Unmarshal([]byte(tenants), &w.TenantIDs)); err != nil {
		return nil, fmt.Errorf("decode webhook %s: %w", id, err)
	}
	w.Data = json.RawMessage(data)
	if keyRef.Valid {
		w.SigningKeyID = uuid.MustParse(keyRef.String)
	}
	if keyID.Valid {
		w.key = &Key{ID: uuid.MustParse(keyID.String), Algorithm: keyAlg.String, Kid: keyKid.String, Secret: keySecret.String}
	}
	if failing.Valid {
		t := failing.Time.UTC()
		w.FailingSince = &t
	}
	if disabled.Valid {
		t := disabled.Time.UTC()
		w.DisabledAt = &t
	}
	w.Created, w.Updated = w.Created.UTC(), w.Updated.UTC()
	if !withSecrets {
		w.Password, w.Secret = "", ""
	}
	return &w, nil
}

// receivers returns the enabled webhooks that take events of typ for tenant.
func (s *Service) receivers(ctx context.Context, c db.Conn, typ string, tenant uuid.UUID) ([]*Webhook, error) {
	all, err := loadWebhooks(ctx, c, "w.enabled = ?", true, true)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if w.EventsEnabled[typ] && (w.Global || slices.Contains(w.TenantIDs, tenant)) {
			out = append(out, w)
		}
	}
	return out, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("events: encode %T: %v", v, err)) // maps of strings and bools always encode
	}
	return string(b)
}

func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}
