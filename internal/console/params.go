package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// pathUUID reads a uuid path value (32 hex or dashed); anything else is
// simply a page that does not exist.
func pathUUID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// getter is a domain service's lookup of one object as the user sees it
// (marketplace.Service.GetCustomer, auth.Service.GetUser…).
type getter[T any] func(ctx context.Context, u *auth.User, id uuid.UUID) (T, error)

// loadFromPath reads the uuid path value name and looks up what it names
// as the signed-in user sees it.
func loadFromPath[T any](r *http.Request, s *session, name string, get getter[T]) (uuid.UUID, T, error) {
	id, err := pathUUID(r, name)
	if err != nil {
		var none T
		return id, none, err
	}
	v, err := get(r.Context(), s.User, id)
	return id, v, err
}

// queryUUID reads an optional uuid filter; a malformed one is bad input.
func queryUUID(r *http.Request, name string) (*uuid.UUID, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return nil, errs.Field(name, "Not a valid uuid.")
	}
	return &id, nil
}

// lookupIf looks up what an optional filter names as the signed-in user
// sees it; no filter (nil) is nil.
func lookupIf[T any](ctx context.Context, s *session, id *uuid.UUID, get getter[*T]) (*T, error) {
	if id == nil {
		return nil, nil
	}
	return get(ctx, s.User, *id)
}

// queryChoice reads an optional filter that must be one of choices; ""
// is no filter.
func queryChoice(r *http.Request, name string, choices []string) (string, error) {
	v := r.URL.Query().Get(name)
	if v != "" && !slices.Contains(choices, v) {
		return "", errs.Field(name, "Choose one of: %s.", strings.Join(choices, ", "))
	}
	return v, nil
}

// hexUUID is a uuid as Waldur writes it in URLs: 32 hex characters.
func hexUUID(u uuid.UUID) string {
	var b [32]byte
	const digits = "0123456789abcdef"
	for i, x := range u {
		b[2*i], b[2*i+1] = digits[x>>4], digits[x&0x0f]
	}
	return string(b[:])
}

// pageSize is the console's list length: long enough to scan, short
// enough for a phone.
const pageSize = 25

// pager is a list's position, for the "pager" template.
type pager struct {
	Page, Pages, Total int
	// Prev and Next are query strings (with the current filters), empty at
	// either end.
	Prev, Next string
}

// listPage reads ?page= (1-based).
func listPage(r *http.Request) (db.Page, int) {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100000 {
		n = 1
	}
	return db.Page{Limit: pageSize, Offset: (n - 1) * pageSize}, n
}

// pagerFor builds the pager for page n of total rows, keeping the
// request's other query parameters.
func pagerFor(r *http.Request, n, total int) pager {
	p := pager{Page: n, Total: total, Pages: (total + pageSize - 1) / pageSize}
	link := func(to int) string {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(to))
		return "?" + q.Encode()
	}
	if n > 1 {
		p.Prev = link(n - 1)
	}
	if n < p.Pages {
		p.Next = link(n + 1)
	}
	return p
}
