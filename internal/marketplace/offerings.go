package marketplace

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Offering states, as Waldur names them.
const (
	OfferingDraft  = "Draft"
	OfferingActive = "Active"
	OfferingPaused = "Paused"
)

// OfferingTypeBasic completes orders as soon as they are approved.
const OfferingTypeBasic = "basic"

// Component is a billable part of an offering.
type Component struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	BillingType string `json:"billing_type"`
	IsPrepaid   bool   `json:"is_prepaid"`
}

// Offering is something a provider customer sells.
type Offering struct {
	ID            int64
	UUID          uuid.UUID
	CustomerID    int64
	CustomerUUID  uuid.UUID
	CustomerName  string
	Name          string
	Description   string
	Type          string
	State         string
	Components    []Component
	PluginOptions map[string]any
	// CategoryUUID and CategoryTitle are set when the offering has a category.
	CategoryUUID  *uuid.UUID
	CategoryTitle string
	Created       time.Time
	Modified      time.Time
}

// ReminderDays is plugin_options.resource_expiration_reminders: the day
// counts before a resource's end date at which its users are reminded.
func (o *Offering) ReminderDays() []int {
	raw, _ := o.PluginOptions["resource_expiration_reminders"].([]any)
	var out []int
	for _, v := range raw {
		if f, ok := v.(float64); ok {
			out = append(out, int(f))
		}
	}
	return out
}

// manualProviderApproval says whether approved orders wait for the provider.
func (o *Offering) manualProviderApproval() bool {
	v, _ := o.PluginOptions["manual_provider_approval"].(bool)
	return v
}

// IsPrepaid reports whether any component is prepaid.
func (o *Offering) IsPrepaid() bool {
	for _, c := range o.Components {
		if c.IsPrepaid {
			return true
		}
	}
	return false
}

// Snapshot returns an offering's tracked fields.
func (o *Offering) Snapshot() map[string]any {
	comps := make([]any, len(o.Components))
	for i, c := range o.Components {
		comps[i] = map[string]any{"type": c.Type, "name": c.Name, "billing_type": c.BillingType, "is_prepaid": c.IsPrepaid}
	}
	return map[string]any{"name": o.Name, "description": o.Description, "type": o.Type, "state": o.State,
		"components": comps, "plugin_options": orEmpty(o.PluginOptions), "customer": hexUUID(o.CustomerUUID)}
}

const offeringCols = `o.id, o.uuid, o.customer_id, c.uuid, c.name, o.name, o.description, o.type, o.state,
	o.components, o.plugin_options, k.uuid, k.title, o.created, o.modified`

const offeringFrom = " FROM offerings o JOIN customers c ON c.id = o.customer_id LEFT JOIN marketplace_categories k ON k.id = o.category_id"

func scanOffering(r db.Scanner) (*Offering, error) {
	var (
		o                 Offering
		id, cid           string
		comps, pluginOpts string
		kid, ktitle       sql.NullString
	)
	if err := r.Scan(&o.ID, &id, &o.CustomerID, &cid, &o.CustomerName, &o.Name, &o.Description, &o.Type, &o.State,
		&comps, &pluginOpts, &kid, &ktitle, &o.Created, &o.Modified); err != nil {
		return nil, err
	}
	o.UUID, o.CustomerUUID = parseUUID(id), parseUUID(cid)
	if kid.Valid {
		k := parseUUID(kid.String)
		o.CategoryUUID, o.CategoryTitle = &k, ktitle.String
	}
	if err := json.Unmarshal([]byte(comps), &o.Components); err != nil {
		return nil, fmt.Errorf("offering %d components: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(pluginOpts), &o.PluginOptions); err != nil {
		return nil, fmt.Errorf("offering %d plugin_options: %w", o.ID, err)
	}
	if o.Components == nil {
		o.Components = []Component{}
	}
	return &o, nil
}

// OfferingInput holds an offering's writable fields.
type OfferingInput struct {
	Customer      uuid.UUID
	Name          string
	Description   string
	Type          string
	State         string
	Components    []Component
	PluginOptions map[string]any
	// Category is optional in heed; Waldur's clients always send one.
	Category *uuid.UUID
}

var billingTypes = map[string]bool{"fixed": true, "usage": true, "limit": true, "one": true, "few": true}

func (s *Service) validateOffering(in *OfferingInput) error {
	fields := map[string][]string{}
	validateName(fields, "name", in.Name, 150)
	if in.Customer == uuid.Nil {
		fields["customer"] = append(fields["customer"], "This field is required.")
	}
	if in.Type == "" {
		in.Type = OfferingTypeBasic
	}
	if _, ok := s.processors[in.Type]; !ok {
		fields["type"] = append(fields["type"], fmt.Sprintf("%q is not a valid choice.", in.Type))
	}
	if in.State == "" {
		in.State = OfferingActive
	}
	switch in.State {
	case OfferingDraft, OfferingActive, OfferingPaused:
	default:
		fields["state"] = append(fields["state"], fmt.Sprintf("%q is not a valid choice.", in.State))
	}
	for i, c := range in.Components {
		if c.Type == "" || !billingTypes[c.BillingType] {
			fields["components"] = append(fields["components"],
				fmt.Sprintf("Component %d needs a type and a billing_type of fixed, usage, limit, one or few.", i))
		}
	}
	if in.PluginOptions == nil {
		in.PluginOptions = map[string]any{}
	}
	if r, ok := in.PluginOptions["resource_expiration_reminders"]; ok {
		list, ok := r.([]any)
		valid := ok
		for _, v := range list {
			if f, isNum := v.(float64); !isNum || f < 0 || f != float64(int(f)) {
				valid = false
			}
		}
		if !valid {
			fields["plugin_options"] = append(fields["plugin_options"], "resource_expiration_reminders must be a list of whole day counts.")
		}
	}
	return invalid(fields)
}

// CreateOffering adds an offering to a provider customer (its owners, staff).
func (s *Service) CreateOffering(ctx context.Context, actor *auth.User, in OfferingInput) (*Offering, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	if err := s.validateOffering(&in); err != nil {
		return nil, err
	}
	comps, _ := json.Marshal(in.Components)
	opts, _ := json.Marshal(in.PluginOptions)
	var o *Offering
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		cu, err := getCustomer(ctx, tx, actor, in.Customer)
		if errs.KindOf(err) == errs.NotFound {
			return errs.Field("customer", "Invalid customer: object does not exist or is not visible to you.")
		}
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, OfferingManage, Scope{CustomerID: cu.ID}); err != nil {
			return err
		}
		var categoryID *int64
		if in.Category != nil {
			k, err := getCategory(ctx, tx, *in.Category)
			if errs.KindOf(err) == errs.NotFound {
				return errs.Field("category", "Invalid category: object does not exist.")
			}
			if err != nil {
				return err
			}
			categoryID = &k.ID
		}
		now := tx.Now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO offerings (uuid, customer_id, name, description, type, state, components, plugin_options,
				category_id, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), cu.ID, in.Name, in.Description, in.Type, in.State,
			string(comps), string(opts), categoryID, now, now).Scan(&id); err != nil {
			return fmt.Errorf("insert offering: %w", err)
		}
		o, err = scanOffering(tx.QueryRow(ctx, "SELECT "+offeringCols+offeringFrom+" WHERE o.id = ?", id))
		if err != nil {
			return err
		}
		return s.created(ctx, tx, KindOffering, o.ID, o.UUID, o.Snapshot(), actor, "Offering created")
	})
	return o, err
}

var offeringOrdering = map[string]string{"name": "o.name", "created": "o.created", "type": "o.type", "state": "o.state"}

// OfferingFilter narrows ListOfferings.
type OfferingFilter struct {
	ListFilter
	Type     string
	State    string
	Category *uuid.UUID
	// Public keeps the offerings open for ordering or browsing (Active and
	// Paused), as Waldur's public catalogue does.
	Public bool
}

// ListOfferings lists offerings. The catalogue is public to every
// authenticated user, as Waldur's shared offerings are.
func (s *Service) ListOfferings(ctx context.Context, u *auth.User, f OfferingFilter, page db.Page) (out []*Offering, total int, err error) {
	defer errs.Wrap(&err, "ListOfferings")
	where, args := []string{"1=1"}, []any{}
	if f.Name != "" {
		where = append(where, "LOWER(o.name) LIKE ?")
		args = append(args, "%"+strings.ToLower(f.Name)+"%")
	}
	if f.CustomerUUID != nil {
		where = append(where, "c.uuid = ?")
		args = append(args, f.CustomerUUID.String())
	}
	if f.Type != "" {
		where = append(where, "o.type = ?")
		args = append(args, f.Type)
	}
	if f.State != "" {
		where = append(where, "o.state = ?")
		args = append(args, f.State)
	}
	if f.Category != nil {
		where = append(where, "k.uuid = ?")
		args = append(args, f.Category.String())
	}
	if f.Public {
		where = append(where, "o.state IN (?, ?)")
		args = append(args, OfferingActive, OfferingPaused)
	}
	cond := strings.Join(where, " AND ")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: offeringCols, From: offeringFrom, Where: cond,
			OrderBy: db.OrderBy(f.Ordering, offeringOrdering, []string{"name"}, "o.id"), Args: args, Page: page,
		}, scanOffering)
		return err
	})
	return out, total, err
}

// GetOffering returns one offering.
func (s *Service) GetOffering(ctx context.Context, u *auth.User, id uuid.UUID) (*Offering, error) {
	var o *Offering
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		o, err = getOffering(ctx, c, "o.uuid = ?", id.String())
		return err
	})
	return o, err
}

// GetPublicOffering returns an offering of the public catalogue (Active or
// Paused); others are not found.
func (s *Service) GetPublicOffering(ctx context.Context, u *auth.User, id uuid.UUID) (*Offering, error) {
	var o *Offering
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		o, err = getOffering(ctx, c, "o.uuid = ? AND o.state IN (?, ?)", id.String(), OfferingActive, OfferingPaused)
		return err
	})
	return o, err
}

func getOffering(ctx context.Context, c db.Conn, cond string, args ...any) (*Offering, error) {
	o, err := scanOffering(c.QueryRow(ctx, "SELECT "+offeringCols+offeringFrom+" WHERE "+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get offering: %w", err)
	}
	return o, nil
}

// Plan is a price for an offering.
type Plan struct {
	ID           int64
	UUID         uuid.UUID
	OfferingID   int64
	OfferingUUID uuid.UUID
	OfferingName string
	Name         string
	Description  string
	// UnitPrice is the price as the API shows it ("10.50"); UnitPriceMinor
	// is the same amount in minor units, as stored.
	UnitPrice      string
	UnitPriceMinor int64
	Unit           string
	Archived       bool
	Created        time.Time
	Modified       time.Time
}

// Snapshot returns a plan's tracked fields.
func (p *Plan) Snapshot() map[string]any {
	return map[string]any{"name": p.Name, "description": p.Description, "unit_price": p.UnitPrice, "unit": p.Unit,
		"archived": p.Archived, "offering": hexUUID(p.OfferingUUID)}
}

const planCols = `pl.id, pl.uuid, pl.offering_id, o.uuid, o.name, pl.name, pl.description, pl.unit_price_minor, pl.unit,
	pl.archived, pl.created, pl.modified`

const planFrom = " FROM plans pl JOIN offerings o ON o.id = pl.offering_id"

func scanPlan(r db.Scanner) (*Plan, error) {
	var (
		p       Plan
		id, oid string
	)
	if err := r.Scan(&p.ID, &id, &p.OfferingID, &oid, &p.OfferingName, &p.Name, &p.Description, &p.UnitPriceMinor, &p.Unit,
		&p.Archived, &p.Created, &p.Modified); err != nil {
		return nil, err
	}
	p.UUID, p.OfferingUUID = parseUUID(id), parseUUID(oid)
	p.UnitPrice = FormatMoneyMinor(p.UnitPriceMinor)
	return &p, nil
}

// PlanInput holds a plan's writable fields.
type PlanInput struct {
	Offering    uuid.UUID
	Name        string
	Description string
	UnitPrice   string
	Unit        string
}

var planUnits = map[string]bool{"month": true, "quarter": true, "half_month": true, "day": true, "hour": true, "quantity": true}

// NormalizeMoney renders a stored cost with two decimals (SQLite keeps the
// text as written; PostgreSQL's numeric already has two). Costs are copied
// from plan prices, so they always parse; anything else is shown as stored.
func NormalizeMoney(s string) string {
	if m, msg := ParseMoneyMinor(s); msg == "" {
		return FormatMoneyMinor(m)
	}
	return s
}

// CreatePlan adds a plan to an offering (provider owners, offering managers, staff).
func (s *Service) CreatePlan(ctx context.Context, actor *auth.User, in PlanInput) (p *Plan, err error) {
	defer errs.Wrap(&err, "CreatePlan(%s, %q)", in.Offering, in.Name)
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	fields := map[string][]string{}
	validateName(fields, "name", in.Name, 150)
	if in.Offering == uuid.Nil {
		fields["offering"] = append(fields["offering"], "This field is required.")
	}
	if in.UnitPrice == "" {
		in.UnitPrice = "0"
	}
	// Refused beyond the declared precision, never rounded: both engines
	// then store exactly what the client sent.
	price, msg := ParseMoneyMinor(in.UnitPrice)
	if msg != "" {
		fields["unit_price"] = append(fields["unit_price"], msg)
	}
	if in.Unit == "" {
		in.Unit = "month"
	}
	if !planUnits[in.Unit] {
		fields["unit"] = append(fields["unit"], fmt.Sprintf("%q is not a valid choice.", in.Unit))
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		o, err := getOffering(ctx, tx, "o.uuid = ?", in.Offering.String())
		if errs.KindOf(err) == errs.NotFound {
			return errs.Field("offering", "Invalid offering: object does not exist.")
		}
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, OfferingManage, Scope{CustomerID: o.CustomerID, OfferingID: o.ID}); err != nil {
			return err
		}
		now := tx.Now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO plans (uuid, offering_id, name, description, unit_price_minor, unit, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), o.ID, in.Name, in.Description, price, in.Unit, now, now).Scan(&id); err != nil {
			return fmt.Errorf("insert plan: %w", err)
		}
		p, err = scanPlan(tx.QueryRow(ctx, "SELECT "+planCols+planFrom+" WHERE pl.id = ?", id))
		if err != nil {
			return err
		}
		return s.created(ctx, tx, KindPlan, p.ID, p.UUID, p.Snapshot(), actor, "Plan created")
	})
	return p, err
}

// PlanFilter narrows ListPlans.
type PlanFilter struct {
	Offering *uuid.UUID
	Ordering string
}

var planOrdering = map[string]string{"name": "pl.name", "created": "pl.created", "unit_price": "pl.unit_price_minor"}

// ListPlans lists plans (public to authenticated users, like offerings).
func (s *Service) ListPlans(ctx context.Context, u *auth.User, f PlanFilter, page db.Page) (out []*Plan, total int, err error) {
	defer errs.Wrap(&err, "ListPlans")
	where, args := "1=1", []any{}
	if f.Offering != nil {
		where += " AND o.uuid = ?"
		args = append(args, f.Offering.String())
	}
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: planCols, From: planFrom, Where: where,
			OrderBy: db.OrderBy(f.Ordering, planOrdering, []string{"name"}, "pl.id"), Args: args, Page: page,
		}, scanPlan)
		return err
	})
	return out, total, err
}

// GetPlan returns one plan.
func (s *Service) GetPlan(ctx context.Context, u *auth.User, id uuid.UUID) (*Plan, error) {
	var p *Plan
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		p, err = getPlan(ctx, c, "pl.uuid = ?", id.String())
		return err
	})
	return p, err
}

func getPlan(ctx context.Context, c db.Conn, cond string, args ...any) (*Plan, error) {
	p, err := scanPlan(c.QueryRow(ctx, "SELECT "+planCols+planFrom+" WHERE "+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get plan: %w", err)
	}
	return p, nil
}
