package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
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
