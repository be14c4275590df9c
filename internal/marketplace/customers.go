// Package marketplace is heed's marketplace domain: customers, projects,
// roles, offerings, plans, orders with their approval flow, and resources.
// Every change goes through Service; permissions are decided by Can.
package marketplace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/jobs"
)

// Service implements the marketplace's operations.
type Service struct {
	DB   *db.DB
	Jobs jobs.Enqueuer

	processors map[string]Processor
	observers  []ChangeObserver
	// permissions caches one user's roles (CacheReads); nil loads every time.
	permissions *db.Cache[int64, []UserPermission]
}

// CacheReads keeps a user's roles, as UserPermissions reads them for one
// user (every /api/users/me/), for at most ttl: any write this process
// commits to the tables they come from drops them, as does the first role
// expiring. Zero or less turns
// the cache off. Call it before the service is used.
func (s *Service) CacheReads(ttl time.Duration) {
	// The tables scanPermissions reads; a user's deletion cascades to
	// their roles.
	s.permissions = db.NewCache[int64, []UserPermission](s.DB, ttl, 10_000,
		"role_assignments", "customers", "projects", "offerings", "users")
}

// New returns a service with the built-in "basic" offering type.
func New(d *db.DB, enq jobs.Enqueuer) *Service {
	s := &Service{DB: d, Jobs: enq, processors: map[string]Processor{}}
	s.RegisterProcessor(OfferingTypeBasic, basicProcessor{})
	return s
}

// Customer is an organisation: it owns projects (as a consumer) and
// offerings (as a provider).
type Customer struct {
	ID          int64
	UUID        uuid.UUID
	Name        string
	Slug        string
	Description string
	Email       string
	Created     time.Time
	Modified    time.Time
}

// Project groups a customer's resources.
type Project struct {
	ID           int64
	UUID         uuid.UUID
	CustomerID   int64
	CustomerUUID uuid.UUID
	CustomerName string
	Name         string
	Slug         string
	Description  string
	Created      time.Time
	Modified     time.Time
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify derives a URL-friendly identifier from a name.
func Slugify(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	if s == "" {
		s = "item"
	}
	return s
}

func parseUUID(s string) uuid.UUID {
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil
	}
	return u
}

// hexUUID is the 32-hex form used in snapshots, as in the API.
func hexUUID(u uuid.UUID) string { return strings.ReplaceAll(u.String(), "-", "") }

// Snapshot returns a customer's tracked fields.
func (c *Customer) Snapshot() map[string]any {
	return map[string]any{"name": c.Name, "slug": c.Slug, "description": c.Description, "email": c.Email}
}

// Snapshot returns a project's tracked fields.
func (p *Project) Snapshot() map[string]any {
	return map[string]any{"name": p.Name, "slug": p.Slug, "description": p.Description, "customer": hexUUID(p.CustomerUUID)}
}

const customerCols = "c.id, c.uuid, c.name, c.slug, c.description, c.email, c.created, c.modified"

func scanCustomer(r db.Scanner) (*Customer, error) {
	var c Customer
	var id string
	if err := r.Scan(&c.ID, &id, &c.Name, &c.Slug, &c.Description, &c.Email, &c.Created, &c.Modified); err != nil {
		return nil, err
	}
	c.UUID = parseUUID(id)
	return &c, nil
}

// CustomerInput holds a customer's writable fields.
type CustomerInput struct {
	Name        string
	Slug        string
	Description string
	Email       string
}

func validateName(fields map[string][]string, field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		fields[field] = append(fields[field], "This field may not be blank.")
	} else if len(v) > max {
		fields[field] = append(fields[field], fmt.Sprintf("Ensure this field has no more than %d characters.", max))
	}
}

var slugPattern = regexp.MustCompile(`^[-a-zA-Z0-9_]{1,50}$`)

func validateSlug(fields map[string][]string, v string) {
	if v != "" && !slugPattern.MatchString(v) {
		fields["slug"] = append(fields["slug"],
			"Enter a valid “slug” consisting of letters, numbers, underscores or hyphens (at most 50).")
	}
}

func invalid(fields map[string][]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &errs.Error{Kind: errs.Invalid, Message: "Invalid input.", Fields: fields}
}

// CreateCustomer adds a customer. Staff only.
func (s *Service) CreateCustomer(ctx context.Context, actor *auth.User, in CustomerInput) (*Customer, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	if !actor.IsStaff {
		return nil, errForbidden()
	}
	fields := map[string][]string{}
	validateName(fields, "name", in.Name, 150)
	validateSlug(fields, in.Slug)
	if err := invalid(fields); err != nil {
		return nil, err
	}
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
	var c *Customer
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (uuid, name, slug, description, email, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), in.Name, in.Slug, in.Description, in.Email, now, now).Scan(&id); err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		var err error
		c, err = scanCustomer(tx.QueryRow(ctx, "SELECT "+customerCols+" FROM customers c WHERE c.id = ?", id))
		if err != nil {
			return err
		}
		return s.created(ctx, tx, KindCustomer, c.ID, c.UUID, c.Snapshot(), actor, "Customer created")
	})
	return c, err
}

// customerVisible is the condition for customers u may see: a role on the
// customer, on one of its projects or on one of its offerings.
func customerVisible(v visibility, args *[]any) string {
	if v.all() {
		return "1=1"
	}
	*args = append(*args, v.u.ID, v.now)
	return `EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.user_id = ? AND ` + activeRole + ` AND (
		(ra.scope_type = 'customer' AND ra.scope_id = c.id)
		OR (ra.scope_type = 'project' AND ra.scope_id IN (SELECT p2.id FROM projects p2 WHERE p2.customer_id = c.id))
		OR (ra.scope_type = 'offering' AND ra.scope_id IN (SELECT o2.id FROM offerings o2 WHERE o2.customer_id = c.id))))`
}

// ListFilter is shared by simple lists.
type ListFilter struct {
	Name     string
	Ordering string
	// CustomerUUID narrows projects, offerings and the like to one customer.
	CustomerUUID *uuid.UUID
}

var customerOrdering = map[string]string{"name": "c.name", "created": "c.created", "slug": "c.slug"}

// ListCustomers lists the customers u may see.
func (s *Service) ListCustomers(ctx context.Context, u *auth.User, f ListFilter, page db.Page) (out []*Customer, total int, err error) {
	defer errs.Wrap(&err, "ListCustomers")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var args []any
		where := []string{customerVisible(visibility{u, c.DB().Now()}, &args)}
		if f.Name != "" {
			where = append(where, "LOWER(c.name) LIKE ?")
			args = append(args, "%"+strings.ToLower(f.Name)+"%")
		}
		cond := strings.Join(where, " AND ")
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: customerCols, From: " FROM customers c", Where: cond,
			OrderBy: db.OrderBy(f.Ordering, customerOrdering, []string{"name"}, "c.id"), Args: args, Page: page,
		}, scanCustomer)
		return err
	})
	return out, total, err
}

// GetCustomer returns a customer u may see, NotFound otherwise.
func (s *Service) GetCustomer(ctx context.Context, u *auth.User, id uuid.UUID) (*Customer, error) {
	var cu *Customer
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		cu, err = getCustomer(ctx, c, u, id)
		return err
	})
	return cu, err
}

func getCustomer(ctx context.Context, c db.Conn, u *auth.User, id uuid.UUID) (*Customer, error) {
	args := []any{}
	cond := customerVisible(visibility{u, c.DB().Now()}, &args)
	args = append(args, id.String())
	cu, err := scanCustomer(c.QueryRow(ctx, "SELECT "+customerCols+" FROM customers c WHERE "+cond+" AND c.uuid = ?", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get customer: %w", err)
	}
	return cu, nil
}

const projectCols = "p.id, p.uuid, p.customer_id, c.uuid, c.name, p.name, p.slug, p.description, p.created, p.modified"

func scanProject(r db.Scanner) (*Project, error) {
	var p Project
	var id, cid string
	if err := r.Scan(&p.ID, &id, &p.CustomerID, &cid, &p.CustomerName, &p.Name, &p.Slug, &p.Description, &p.Created, &p.Modified); err != nil {
		return nil, err
	}
	p.UUID, p.CustomerUUID = parseUUID(id), parseUUID(cid)
	return &p, nil
}

// ProjectInput holds a project's writable fields.
type ProjectInput struct {
	Customer    uuid.UUID
	Name        string
	Slug        string
	Description string
}

// CreateProject adds a project to a customer; customer owners and staff may.
func (s *Service) CreateProject(ctx context.Context, actor *auth.User, in ProjectInput) (*Project, error) {
	if err := requireWriter(actor); err != nil {
		return nil, err
	}
	fields := map[string][]string{}
	validateName(fields, "name", in.Name, 500)
	validateSlug(fields, in.Slug)
	if in.Customer == uuid.Nil {
		fields["customer"] = append(fields["customer"], "This field is required.")
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
	var p *Project
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		cu, err := getCustomer(ctx, tx, actor, in.Customer)
		if errs.KindOf(err) == errs.NotFound {
			return errs.Field("customer", "Invalid customer: object does not exist or is not visible to you.")
		}
		if err != nil {
			return err
		}
		if err := require(ctx, tx, actor, ProjectCreate, Scope{CustomerID: cu.ID}); err != nil {
			return err
		}
		now := tx.Now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO projects (uuid, customer_id, name, slug, description, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), cu.ID, in.Name, in.Slug, in.Description, now, now).Scan(&id); err != nil {
			return fmt.Errorf("insert project: %w", err)
		}
		p, err = scanProject(tx.QueryRow(ctx, "SELECT "+projectCols+" FROM projects p JOIN customers c ON c.id = p.customer_id WHERE p.id = ?", id))
		if err != nil {
			return err
		}
		return s.created(ctx, tx, KindProject, p.ID, p.UUID, p.Snapshot(), actor, "Project created")
	})
	return p, err
}

var projectOrdering = map[string]string{"name": "p.name", "created": "p.created", "customer_name": "c.name"}

// ListProjects lists the projects u may see.
func (s *Service) ListProjects(ctx context.Context, u *auth.User, f ListFilter, page db.Page) (out []*Project, total int, err error) {
	defer errs.Wrap(&err, "ListProjects")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var args []any
		where := []string{visibility{u, c.DB().Now()}.consumer(&args, "p.id", "p.customer_id")}
		if f.Name != "" {
			where = append(where, "LOWER(p.name) LIKE ?")
			args = append(args, "%"+strings.ToLower(f.Name)+"%")
		}
		if f.CustomerUUID != nil {
			where = append(where, "c.uuid = ?")
			args = append(args, f.CustomerUUID.String())
		}
		cond := strings.Join(where, " AND ")
		from := " FROM projects p JOIN customers c ON c.id = p.customer_id WHERE "
		if err := c.QueryRow(ctx, "SELECT COUNT(*)"+from+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := c.Query(ctx, "SELECT "+projectCols+from+cond+
			db.OrderBy(f.Ordering, projectOrdering, []string{"name"}, "p.id")+page.SQL(), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanProject(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, total, err
}

// GetProject returns a project u may see, NotFound otherwise.
func (s *Service) GetProject(ctx context.Context, u *auth.User, id uuid.UUID) (*Project, error) {
	var p *Project
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		p, err = getProject(ctx, c, u, id)
		return err
	})
	return p, err
}

func getProject(ctx context.Context, c db.Conn, u *auth.User, id uuid.UUID) (*Project, error) {
	var args []any
	cond := visibility{u, c.DB().Now()}.consumer(&args, "p.id", "p.customer_id")
	args = append(args, id.String())
	p, err := scanProject(c.QueryRow(ctx, "SELECT "+projectCols+
		" FROM projects p JOIN customers c ON c.id = p.customer_id WHERE "+cond+" AND p.uuid = ?", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get project: %w", err)
	}
	return p, nil
}
