package marketplace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Category groups offerings in the catalogue ("HPC", "Storage", ...), the
// minimal part of Waldur's marketplace categories its clients need.
type Category struct {
	ID             int64
	UUID           uuid.UUID
	Title          string
	Description    string
	OfferingsCount int
	Created        time.Time
	Modified       time.Time
}

const categoryCols = `k.id, k.uuid, k.title, k.description,
	(SELECT COUNT(*) FROM offerings co WHERE co.category_id = k.id), k.created, k.modified`

const categoryFrom = " FROM marketplace_categories k"

func scanCategory(r db.Scanner) (*Category, error) {
	var (
		k  Category
		id string
	)
	if err := r.Scan(&k.ID, &id, &k.Title, &k.Description, &k.OfferingsCount, &k.Created, &k.Modified); err != nil {
		return nil, err
	}
	k.UUID = parseUUID(id)
	return &k, nil
}

// CategoryInput holds a category's writable fields.
type CategoryInput struct {
	Title       string
	Description string
}

// CreateCategory adds a category (staff only).
func (s *Service) CreateCategory(ctx context.Context, actor *auth.User, in CategoryInput) (k *Category, err error) {
	defer errs.Wrap(&err, "CreateCategory(%q)", in.Title)
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	fields := map[string][]string{}
	validateName(fields, "title", in.Title, 255)
	if err := invalid(fields); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO marketplace_categories (uuid, title, description, created, modified)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), in.Title, in.Description, now, now).Scan(&id); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.Field("title", "Marketplace category with this title already exists.")
			}
			return fmt.Errorf("insert: %w", err)
		}
		var err error
		k, err = scanCategory(tx.QueryRow(ctx, "SELECT "+categoryCols+categoryFrom+" WHERE k.id = ?", id))
		return err
	})
	return k, err
}

var categoryOrdering = map[string]string{"title": "k.title", "created": "k.created"}

// CategoryFilter narrows ListCategories.
type CategoryFilter struct {
	Title    string
	Ordering string
}

// ListCategories lists categories; the catalogue is public to every
// authenticated user.
func (s *Service) ListCategories(ctx context.Context, u *auth.User, f CategoryFilter, page db.Page) (out []*Category, total int, err error) {
	defer errs.Wrap(&err, "ListCategories")
	where, args := "1=1", []any{}
	if f.Title != "" {
		where += " AND LOWER(k.title) LIKE ?"
		args = append(args, "%"+strings.ToLower(f.Title)+"%")
	}
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: categoryCols, From: categoryFrom, Where: where,
			OrderBy: db.OrderBy(f.Ordering, categoryOrdering, []string{"title"}, "k.id"), Args: args, Page: page,
		}, scanCategory)
		return err
	})
	return out, total, err
}

// GetCategory returns one category.
func (s *Service) GetCategory(ctx context.Context, u *auth.User, id uuid.UUID) (k *Category, err error) {
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		k, err = getCategory(ctx, c, id)
		return err
	})
	return k, err
}

func getCategory(ctx context.Context, c db.Conn, id uuid.UUID) (*Category, error) {
	k, err := scanCategory(c.QueryRow(ctx, "SELECT "+categoryCols+categoryFrom+" WHERE k.uuid = ?", id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get category: %w", err)
	}
	return k, nil
}
