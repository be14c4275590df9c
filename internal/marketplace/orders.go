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
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Order types and states, named as Waldur's API shows them.
const (
	OrderTypeCreate    = "Create"
	OrderTypeUpdate    = "Update"
	OrderTypeTerminate = "Terminate"

	OrderPendingConsumer  = "pending-consumer"
	OrderPendingProvider  = "pending-provider"
	OrderPendingProject   = "pending-project"
	OrderPendingStartDate = "pending-start-date"
	OrderExecuting        = "executing"
	OrderDone             = "done"
	OrderErred            = "erred"
	OrderCanceled         = "canceled"
	OrderRejected         = "rejected"
)

// OrderStates lists every order state, for filters and the schema.
var OrderStates = []string{OrderPendingConsumer, OrderPendingProvider, OrderPendingProject, OrderPendingStartDate,
	OrderExecuting, OrderDone, OrderErred, OrderCanceled, OrderRejected}

// ResourceStates lists every resource state.
var ResourceStates = []string{ResourceCreating, ResourceOK, ResourceErred, ResourceUpdating, ResourceTerminating, ResourceTerminated}

// Order asks for a resource to be created, changed or terminated.
type Order struct {
	ID                   int64
	UUID                 uuid.UUID
	Type                 string
	State                string
	ProjectID            int64
	OfferingID           int64
	PlanID               *int64
	OldPlanID            *int64
	ResourceID           *int64
	Attributes           map[string]any
	Limits               map[string]int64
	Cost                 *string
	RequestComment       string
	ErrorMessage         string
	CreatedByID          *int64
	ConsumerReviewedByID *int64
	ConsumerReviewedAt   *time.Time
	ProviderReviewedByID *int64
	ProviderReviewedAt   *time.Time
	CompletedAt          *time.Time
	Created              time.Time
	Modified             time.Time

	// Joined for the API.
	ProjectUUID          uuid.UUID
	ProjectName          string
	CustomerID           int64
	CustomerUUID         uuid.UUID
	CustomerName         string
	OfferingUUID         uuid.UUID
	OfferingName         string
	OfferingType         string
	ProviderID           int64
	ProviderUUID         uuid.UUID
	ProviderName         string
	PlanUUID             *uuid.UUID
	PlanName             string
	ResourceUUID         *uuid.UUID
	ResourceName         string
	CreatedByUsername    string
	CreatedByFullName    string
	ConsumerReviewedBy   string
	ConsumerReviewedName string
	ProviderReviewedBy   string
	ProviderReviewedName string
}

const orderCols = `od.id, od.uuid, od.type, od.state, od.project_id, od.offering_id, od.plan_id, od.old_plan_id, od.resource_id,
	od.attributes, od.limits, od.cost, od.request_comment, od.error_message, od.created_by_id,
	od.consumer_reviewed_by_id, od.consumer_reviewed_at, od.provider_reviewed_by_id, od.provider_reviewed_at,
	od.completed_at, od.created, od.modified,
	p.uuid, p.name, p.customer_id, c.uuid, c.name, o.uuid, o.name, o.type, o.customer_id, pc.uuid, pc.name,
	pl.uuid, pl.name, r.uuid, r.name, cb.username, cb.full_name, crb.username, crb.full_name, prb.username, prb.full_name`

const orderFrom = ` FROM orders od
	JOIN projects p ON p.id = od.project_id
	JOIN customers c ON c.id = p.customer_id
	JOIN offerings o ON o.id = od.offering_id
	JOIN customers pc ON pc.id = o.customer_id
	LEFT JOIN plans pl ON pl.id = od.plan_id
	LEFT JOIN resources r ON r.id = od.resource_id
	LEFT JOIN users cb ON cb.id = od.created_by_id
	LEFT JOIN users crb ON crb.id = od.consumer_reviewed_by_id
	LEFT JOIN users prb ON prb.id = od.provider_reviewed_by_id`

func nullInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func scanOrder(row db.Scanner) (*Order, error) {
	var (
		o                                            Order
		id, puid, cuid, ouid, pcuid                  string
		attrs, limits                                string
		cost, planUUID, planName, resUUID, resName   sql.NullString
		cbU, cbN, crbU, crbN, prbU, prbN             sql.NullString
		planID, oldPlanID, resID, cbID, crbID, prbID sql.NullInt64
		crAt, prAt, doneAt                           sql.NullTime
	)
	if err := row.Scan(&o.ID, &id, &o.Type, &o.State, &o.ProjectID, &o.OfferingID, &planID, &oldPlanID, &resID,
		&attrs, &limits, &cost, &o.RequestComment, &o.ErrorMessage, &cbID, &crbID, &crAt, &prbID, &prAt, &doneAt,
		&o.Created, &o.Modified, &puid, &o.ProjectName, &o.CustomerID, &cuid, &o.CustomerName, &ouid, &o.OfferingName,
		&o.OfferingType, &o.ProviderID, &pcuid, &o.ProviderName, &planUUID, &planName, &resUUID, &resName,
		&cbU, &cbN, &crbU, &crbN, &prbU, &prbN); err != nil {
		return nil, err
	}
	o.UUID, o.ProjectUUID, o.CustomerUUID, o.OfferingUUID, o.ProviderUUID = parseUUID(id), parseUUID(puid), parseUUID(cuid), parseUUID(ouid), parseUUID(pcuid)
	o.PlanID, o.OldPlanID, o.ResourceID, o.CreatedByID = nullInt(planID), nullInt(oldPlanID), nullInt(resID), nullInt(cbID)
	o.ConsumerReviewedByID, o.ProviderReviewedByID = nullInt(crbID), nullInt(prbID)
	o.ConsumerReviewedAt, o.ProviderReviewedAt, o.CompletedAt = nullTime(crAt), nullTime(prAt), nullTime(doneAt)
	if err := json.Unmarshal([]byte(attrs), &o.Attributes); err != nil {
		return nil, fmt.Errorf("order %d attributes: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(limits), &o.Limits); err != nil {
		return nil, fmt.Errorf("order %d limits: %w", o.ID, err)
	}
	if cost.Valid {
		m := NormalizeMoney(cost.String)
		o.Cost = &m
	}
	if planUUID.Valid {
		u := parseUUID(planUUID.String)
		o.PlanUUID, o.PlanName = &u, planName.String
	}
	if resUUID.Valid {
		u := parseUUID(resUUID.String)
		o.ResourceUUID, o.ResourceName = &u, resName.String
	}
	o.CreatedByUsername, o.CreatedByFullName = cbU.String, cbN.String
	o.ConsumerReviewedBy, o.ConsumerReviewedName = crbU.String, crbN.String
	o.ProviderReviewedBy, o.ProviderReviewedName = prbU.String, prbN.String
	return &o, nil
}

// orderVisible: the consumer side (roles on the project or its customer) or
// the provider side (roles on the offering or its provider customer).
func orderVisible(v visibility, args *[]any) string {
	if v.all() {
		return "1=1"
	}
	return "(" + v.consumer(args, "p.id", "p.customer_id") + " OR " + v.provider(args, "o.id", "o.customer_id") + ")"
}

// OrderFilter narrows ListOrders.
type OrderFilter struct {
	Project  *uuid.UUID
	Customer *uuid.UUID
	Offering *uuid.UUID
	Resource *uuid.UUID
	States   []string
	Type     string
	Ordering string
}

var orderOrdering = map[string]string{"created": "od.created", "modified": "od.modified", "state": "od.state", "type": "od.type"}

// ListOrders lists the orders u may see.
func (s *Service) ListOrders(ctx context.Context, u *auth.User, f OrderFilter, page db.Page) (out []*Order, total int, err error) {
	defer errs.Wrap(&err, "ListOrders")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var args []any
		where := []string{orderVisible(visibility{u, c.DB().Now()}, &args)}
		add := func(cond string, v any) {
			where = append(where, cond)
			args = append(args, v)
		}
		if f.Project != nil {
			add("p.uuid = ?", f.Project.String())
		}
		if f.Customer != nil {
			add("c.uuid = ?", f.Customer.String())
		}
		if f.Offering != nil {
			add("o.uuid = ?", f.Offering.String())
		}
		if f.Resource != nil {
			add("r.uuid = ?", f.Resource.String())
		}
		if f.Type != "" {
			add("od.type = ?", f.Type)
		}
		if len(f.States) > 0 {
			where = append(where, "od.state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
			for _, st := range f.States {
				args = append(args, st)
			}
		}
		cond := strings.Join(where, " AND ")
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: orderCols, From: orderFrom, Where: cond,
			OrderBy: db.OrderBy(f.Ordering, orderOrdering, []string{"-created"}, "od.id"), Args: args, Page: page,
		}, scanOrder)
		return err
	})
	return out, total, err
}

// GetOrder returns an order u may see.
func (s *Service) GetOrder(ctx context.Context, u *auth.User, id uuid.UUID) (*Order, error) {
	var o *Order
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		o, err = getVisibleOrder(ctx, c, u, id, false)
		return err
	})
	return o, err
}

func getVisibleOrder(ctx context.Context, c db.Conn, u *auth.User, id uuid.UUID, lock bool) (*Order, error) {
	var args []any
	cond := orderVisible(visibility{u, c.DB().Now()}, &args)
	args = append(args, id.String())
	suffix := ""
	if lock {
		suffix = c.DB().ForUpdateOf("od")
	}
	o, err := scanOrder(c.QueryRow(ctx, "SELECT "+orderCols+orderFrom+" WHERE "+cond+" AND od.uuid = ?"+suffix, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get order: %w", err)
	}
	return o, nil
}

func loadOrder(ctx context.Context, c db.Conn, id int64, lock bool) (*Order, error) {
	suffix := ""
	if lock {
		suffix = c.DB().ForUpdateOf("od")
	}
	o, err := scanOrder(c.QueryRow(ctx, "SELECT "+orderCols+orderFrom+" WHERE od.id = ?"+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("load order %d: %w", id, err)
	}
	return o, nil
}

// OrderInput asks for a new order.
type OrderInput struct {
	Type           string
	Project        uuid.UUID
	Offering       uuid.UUID
	Plan           *uuid.UUID
	Resource       *uuid.UUID
	Name           string
	Description    string
	Attributes     map[string]any
	Limits         map[string]int64
	RequestComment string
}

// CreateOrder places an order. Its creator needs ORDER.CREATE on the
// project; if they may also approve, the consumer step is passed at once.
func (s *Service) CreateOrder(ctx context.Context, actor *auth.User, in OrderInput) (*Order, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = OrderTypeCreate
	}
	if _, ok := in.Attributes[RenewalAttribute]; ok {
		// Only Renew may ask for a renewal: it checks ORDER.APPROVE.
		attrs := copyMap(in.Attributes)
		delete(attrs, RenewalAttribute)
		in.Attributes = attrs
	}
	fields := map[string][]string{}
	switch in.Type {
	case OrderTypeCreate:
		if in.Project == uuid.Nil {
			fields["project"] = append(fields["project"], "This field is required.")
		}
		if in.Offering == uuid.Nil {
			fields["offering"] = append(fields["offering"], "This field is required.")
		}
		if in.Name == "" {
			if n, ok := in.Attributes["name"].(string); ok {
				in.Name = n
			}
		}
		if strings.TrimSpace(in.Name) == "" {
			fields["attributes"] = append(fields["attributes"], "A name is required for a new resource (attributes.name).")
		}
	case OrderTypeUpdate, OrderTypeTerminate:
		if in.Resource == nil {
			fields["resource"] = append(fields["resource"], "This field is required.")
		}
		if in.Type == OrderTypeUpdate && in.Plan == nil && in.Limits == nil {
			fields["non_field_errors"] = append(fields["non_field_errors"], "An update order must change the plan or the limits.")
		}
	default:
		fields["type"] = append(fields["type"], fmt.Sprintf("%q is not a valid choice.", in.Type))
	}
	for k, v := range in.Limits {
		if v < 0 {
			fields["limits"] = append(fields["limits"], fmt.Sprintf("Limit %s must not be negative.", k))
		}
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	var out *Order
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		o, err := s.createOrder(ctx, tx, actor, in)
		if err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

func (s *Service) createOrder(ctx context.Context, tx *db.Tx, actor *auth.User, in OrderInput) (*Order, error) {
	var (
		projectID, customerID int64
		offering              *Offering
		resource              *Resource
	)
	if in.Type == OrderTypeCreate {
		p, err := getProject(ctx, tx, actor, in.Project)
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.Field("project", "Invalid project: object does not exist or is not visible to you.")
		}
		if err != nil {
			return nil, err
		}
		projectID, customerID = p.ID, p.CustomerID
		offering, err = getOffering(ctx, tx, "o.uuid = ?", in.Offering.String())
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.Field("offering", "Invalid offering: object does not exist.")
		}
		if err != nil {
			return nil, err
		}
		if offering.State != OfferingActive {
			return nil, errs.Field("offering", "Offering is not available for ordering.")
		}
	} else {
		r, err := getVisibleResource(ctx, tx, actor, ConsumerView, *in.Resource, true)
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.Field("resource", "Invalid resource: object does not exist or is not visible to you.")
		}
		if err != nil {
			return nil, err
		}
		resource = r
		projectID, customerID = r.ProjectID, r.CustomerID
		offering, err = getOffering(ctx, tx, "o.id = ?", r.OfferingID)
		if err != nil {
			return nil, err
		}
	}
	sc := Scope{CustomerID: customerID, ProjectID: projectID}
	perm := OrderCreate
	if in.Type == OrderTypeTerminate {
		perm = ResourceTerminate
	}
	if err := require(ctx, tx, actor, perm, sc); err != nil {
		return nil, err
	}
	if resource != nil {
		if err := resourceAcceptsOrder(ctx, tx, resource, in.Type); err != nil {
			return nil, err
		}
	}
	var plan *Plan
	if in.Plan != nil {
		p, err := getPlan(ctx, tx, "pl.uuid = ?", in.Plan.String())
		if err != nil || p.OfferingID != offering.ID {
			return nil, errs.Field("plan", "Invalid plan: it does not exist or does not belong to the offering.")
		}
		plan = p
	}
	now := tx.Now()
	attrs := orEmpty(in.Attributes)
	limits := in.Limits
	if limits == nil {
		limits = map[string]int64{}
	}
	var planID, oldPlanID, resourceID *int64
	var cost *string
	if plan != nil {
		planID = &plan.ID
		c := plan.UnitPrice
		cost = &c
	}
	if resource != nil {
		resourceID = &resource.ID
		oldPlanID = resource.PlanID
	}
	if in.Type == OrderTypeCreate {
		r, err := s.createResource(ctx, tx, &Resource{
			ProjectID: projectID, OfferingID: offering.ID, PlanID: planID, Name: in.Name, Description: in.Description,
			State: ResourceCreating, Limits: limits, Attributes: attrs, Options: map[string]any{}, Cost: cost,
		}, Change{Actor: actor, Comment: "Resource created"})
		if err != nil {
			return nil, err
		}
		resourceID = &r.ID
	}
	attrJSON, _ := json.Marshal(attrs)
	limitJSON, _ := json.Marshal(limits)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO orders (uuid, type, state, project_id, offering_id, plan_id, old_plan_id, resource_id,
			attributes, limits, cost, request_comment, created_by_id, created, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		uuid.NewString(), in.Type, OrderPendingConsumer, projectID, offering.ID, planID, oldPlanID, resourceID,
		string(attrJSON), string(limitJSON), cost, in.RequestComment, actor.ID, now, now).Scan(&id); err != nil {
		return nil, fmt.Errorf("insert order: %w", err)
	}
	o, err := loadOrder(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if err := s.notifyOrder(ctx, tx, o, ""); err != nil {
		return nil, err
	}
	canApprove, err := Can(ctx, tx, actor, OrderApprove, sc)
	if err != nil {
		return nil, err
	}
	if canApprove || in.Type == OrderTypeTerminate {
		// The creator may approve (terminating needs the same roles): the
		// consumer step is theirs and already taken.
		if err := s.approveConsumer(ctx, tx, o, actor); err != nil {
			return nil, err
		}
	}
	return loadOrder(ctx, tx, id, false)
}

// resourceAcceptsOrder refuses a second order while one is in flight, and
// orders on resources in a state that cannot take them.
func resourceAcceptsOrder(ctx context.Context, tx *db.Tx, r *Resource, orderType string) error {
	var inFlight string
	err := tx.QueryRow(ctx, `SELECT uuid FROM orders WHERE resource_id = ? AND state IN (?, ?, ?, ?, ?) ORDER BY id LIMIT 1`,
		r.ID, OrderPendingConsumer, OrderPendingProvider, OrderPendingProject, OrderPendingStartDate, OrderExecuting).Scan(&inFlight)
	switch {
	case err == nil:
		return errs.E(errs.Conflict, "Resource already has an order in progress: %s.", hexUUID(parseUUID(inFlight)))
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check pending orders: %w", err)
	}
	if r.State != ResourceOK && !(orderType == OrderTypeTerminate && r.State == ResourceErred) {
		return errs.E(errs.Conflict, "Resource is in state %s; %s orders need it to be OK.", r.State, orderType)
	}
	return nil
}

func (s *Service) setOrderState(ctx context.Context, tx *db.Tx, o *Order, state string, extra string, args ...any) error {
	q := "UPDATE orders SET state = ?, modified = ?"
	if extra != "" {
		q += ", " + extra
	}
	all := append([]any{state, tx.Now()}, args...)
	all = append(all, o.ID)
	if _, err := tx.Exec(ctx, q+" WHERE id = ?", all...); err != nil {
		return fmt.Errorf("order %s → %s: %w", o.UUID, state, err)
	}
	before := o.State
	o.State = state
	return s.notifyOrder(ctx, tx, o, before)
}

// notifyOrder tells observers an order was placed (before "") or moved.
func (s *Service) notifyOrder(ctx context.Context, tx *db.Tx, o *Order, before string) error {
	ch := ObjectChange{Kind: KindOrder, ID: o.ID, UUID: o.UUID, After: map[string]any{"state": o.State},
		Changed: []string{"state"}, At: tx.Now()}
	if before != "" {
		ch.Before = map[string]any{"state": before}
	}
	if o.ResourceID != nil {
		ch.ResourceID = *o.ResourceID
	}
	return s.notify(ctx, tx, ch)
}

// approveConsumer records the consumer's approval and moves the order on:
// to the provider when the offering wants manual approval, else to execution.
func (s *Service) approveConsumer(ctx context.Context, tx *db.Tx, o *Order, actor *auth.User) error {
	if err := s.setOrderState(ctx, tx, o, OrderPendingProvider, "consumer_reviewed_by_id = ?, consumer_reviewed_at = ?", actor.ID, tx.Now()); err != nil {
		return err
	}
	off, err := getOffering(ctx, tx, "o.id = ?", o.OfferingID)
	if err != nil {
		return err
	}
	if off.manualProviderApproval() {
		return nil
	}
	return s.startExecution(ctx, tx, o, actor)
}

// ProcessOrderArgs is the River job that carries out an executing order.
type ProcessOrderArgs struct {
	OrderID int64 `json:"order_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (ProcessOrderArgs) Kind() string { return "marketplace_process_order" }

// InsertOpts makes a second enqueue of the same order a no-op while the
// first is waiting or running. Finished jobs do not count: SQLite may reuse
// a deleted order's id, and that order must still be processed.
func (ProcessOrderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// startExecution moves the order to executing, puts the resource in its
// in-progress state and enqueues processing in the same transaction.
func (s *Service) startExecution(ctx context.Context, tx *db.Tx, o *Order, actor *auth.User) error {
	if err := s.setOrderState(ctx, tx, o, OrderExecuting, ""); err != nil {
		return err
	}
	if o.ResourceID != nil {
		var next string
		switch o.Type {
		case OrderTypeUpdate:
			next = ResourceUpdating
		case OrderTypeTerminate:
			next = ResourceTerminating
		}
		if next != "" {
			comment := fmt.Sprintf("State changed to %s by order %s", next, strings.ReplaceAll(o.UUID.String(), "-", ""))
			if err := s.changeResourceByID(ctx, tx, *o.ResourceID, Change{Actor: actor, Comment: comment}, func(r *Resource) error {
				r.State = next
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return s.Jobs.Enqueue(ctx, tx, ProcessOrderArgs{OrderID: o.ID}, nil)
}

// OrderAction is a transition a user asks for.
type OrderAction string

const (
	ApproveByConsumer OrderAction = "approve_by_consumer"
	RejectByConsumer  OrderAction = "reject_by_consumer"
	ApproveByProvider OrderAction = "approve_by_provider"
	RejectByProvider  OrderAction = "reject_by_provider"
	CancelOrder       OrderAction = "cancel"
)

// Transition applies an approval, rejection or cancellation.
func (s *Service) Transition(ctx context.Context, actor *auth.User, id uuid.UUID, action OrderAction) (*Order, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	var out *Order
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		o, err := getVisibleOrder(ctx, tx, actor, id, true)
		if err != nil {
			return err
		}
		consumer := Scope{CustomerID: o.CustomerID, ProjectID: o.ProjectID}
		provider := Scope{CustomerID: o.ProviderID, OfferingID: o.OfferingID}
		wantState := func(states ...string) error {
			for _, st := range states {
				if o.State == st {
					return nil
				}
			}
			return errs.E(errs.Conflict, "Order is in state %s; %s needs %s.", o.State, action, strings.Join(states, " or "))
		}
		switch action {
		case ApproveByConsumer, RejectByConsumer:
			if err := require(ctx, tx, actor, OrderApprove, consumer); err != nil {
				return err
			}
			if err := wantState(OrderPendingConsumer); err != nil {
				return err
			}
			if action == ApproveByConsumer {
				err = s.approveConsumer(ctx, tx, o, actor)
			} else {
				err = s.finishRejected(ctx, tx, o, OrderRejected, "consumer_reviewed_by_id = ?, consumer_reviewed_at = ?", actor.ID, tx.Now())
			}
		case ApproveByProvider, RejectByProvider:
			if err := require(ctx, tx, actor, ProviderApprove, provider); err != nil {
				return err
			}
			if err := wantState(OrderPendingProvider); err != nil {
				return err
			}
			if action == ApproveByProvider {
				if err = s.setOrderState(ctx, tx, o, OrderPendingProvider, "provider_reviewed_by_id = ?, provider_reviewed_at = ?", actor.ID, tx.Now()); err == nil {
					err = s.startExecution(ctx, tx, o, actor)
				}
			} else {
				err = s.finishRejected(ctx, tx, o, OrderRejected, "provider_reviewed_by_id = ?, provider_reviewed_at = ?", actor.ID, tx.Now())
			}
		case CancelOrder:
			isCreator := o.CreatedByID != nil && *o.CreatedByID == actor.ID
			if !isCreator {
				if err := require(ctx, tx, actor, OrderApprove, consumer); err != nil {
					return err
				}
			}
			if err := wantState(OrderPendingConsumer, OrderPendingProvider, OrderPendingProject, OrderPendingStartDate); err != nil {
				return err
			}
			err = s.finishRejected(ctx, tx, o, OrderCanceled, "")
		default:
			return errs.E(errs.NotFound, "Not found.")
		}
		if err != nil {
			return err
		}
		out, err = loadOrder(ctx, tx, o.ID, false)
		return err
	})
	return out, err
}

// finishRejected ends an order without executing it; a resource that was
// only being created will never exist, so it becomes Terminated.
func (s *Service) finishRejected(ctx context.Context, tx *db.Tx, o *Order, state, extra string, args ...any) error {
	if extra != "" {
		extra += ", completed_at = ?"
	} else {
		extra = "completed_at = ?"
	}
	args = append(args, tx.Now())
	if err := s.setOrderState(ctx, tx, o, state, extra, args...); err != nil {
		return err
	}
	if o.Type == OrderTypeCreate && o.ResourceID != nil {
		comment := fmt.Sprintf("State changed to %s: order %s was %s", ResourceTerminated, strings.ReplaceAll(o.UUID.String(), "-", ""), state)
		err := s.changeResourceByID(ctx, tx, *o.ResourceID, Change{Comment: comment}, func(r *Resource) error {
			r.State = ResourceTerminated
			return nil
		})
		return err
	}
	return nil
}

// Terminate asks for a resource's termination by creating a Terminate order.
func (s *Service) Terminate(ctx context.Context, actor *auth.User, view View, id uuid.UUID, comment string) (*Order, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	var out *Order
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := getVisibleResource(ctx, tx, actor, view, id, false)
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, ResourceTerminate, Scope{CustomerID: r.CustomerID, ProjectID: r.ProjectID}); err != nil {
			return err
		}
		out, err = s.createOrder(ctx, tx, actor, OrderInput{Type: OrderTypeTerminate, Resource: &r.UUID, RequestComment: comment})
		return err
	})
	return out, err
}
