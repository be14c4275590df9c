package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/db"
)

const (
	defaultPageSize = 10
	maxPageSize     = 300
)

// ListParams are the query parameters every Waldur-family list accepts.
// page and page_size are strings so that bad values follow DRF: a bad page
// is 404 "Invalid page.", a bad page_size falls back to the default.
type ListParams struct {
	Page     string `query:"page" doc:"A page number within the paginated result set (integer, from 1)." example:"1"`
	PageSize string `query:"page_size" doc:"Number of results per page (integer, default 10, at most 300)." example:"10"`
}

// pageRequest is a validated page.
type pageRequest struct {
	number int
	size   int
}

func parsePage(p ListParams) (pageRequest, error) {
	pr := pageRequest{number: 1, size: defaultPageSize}
	if p.PageSize != "" {
		if n, err := strconv.Atoi(p.PageSize); err == nil && n > 0 {
			pr.size = min(n, maxPageSize)
		}
	}
	if p.Page != "" {
		n, err := strconv.Atoi(p.Page)
		if err != nil || n < 1 {
			return pr, detailError(http.StatusNotFound, msgInvalidPage)
		}
		pr.number = n
	}
	return pr, nil
}

func (p pageRequest) dbPage() db.Page {
	return db.Page{Limit: p.size, Offset: (p.number - 1) * p.size}
}

// ListOutput is a Waldur list response: a bare JSON array with the total in
// X-Result-Count and page links in Link.
type ListOutput[T any] struct {
	Link        string `header:"Link" doc:"Links to the first, previous, next and last pages (RFC 8288)."`
	ResultCount int    `header:"X-Result-Count" doc:"Total number of results across all pages."`
	Body        []T
}

// HeadOutput is the HEAD twin of a list: the same headers, no body.
type HeadOutput struct {
	Link        string `header:"Link" doc:"Links to the first, previous, next and last pages (RFC 8288)."`
	ResultCount int    `header:"X-Result-Count" doc:"Total number of results across all pages."`
}

// countOutput answers HEAD count operations on objects that are not lists
// (Waldur's generated client has a few).
type countOutput struct {
	ResultCount int `header:"X-Result-Count" doc:"Always 1."`
}

// ListFunc fetches one page of a list and the total count.
type ListFunc[I, T any] func(ctx context.Context, in *I, page db.Page) ([]T, int, error)

type listInput interface{ listParams() ListParams }

func (p ListParams) listParams() ListParams { return p }

// registerList registers GET and HEAD for a Waldur list with DRF pagination.
func registerList[I listInput, T any](api huma.API, op huma.Operation, fn ListFunc[I, T]) {
	run := func(ctx context.Context, in *I) ([]T, string, int, error) {
		pr, err := parsePage((*in).listParams())
		if err != nil {
			return nil, "", 0, err
		}
		items, total, err := fn(ctx, in, pr.dbPage())
		if err != nil {
			return nil, "", 0, err
		}
		last := max(1, (total+pr.size-1)/pr.size)
		if pr.number > last {
			return nil, "", 0, detailError(http.StatusNotFound, msgInvalidPage)
		}
		if items == nil {
			items = []T{}
		}
		return items, linkHeader(requestURL(ctx), pr.number, last), total, nil
	}
	get := op
	get.Method = http.MethodGet
	huma.Register(api, get, func(ctx context.Context, in *I) (*ListOutput[T], error) {
		items, link, total, err := run(ctx, in)
		if err != nil {
			return nil, err
		}
		return &ListOutput[T]{Link: link, ResultCount: total, Body: items}, nil
	})
	head := op
	head.Method = http.MethodHead
	head.OperationID = op.OperationID + "_count"
	head.Summary = op.Summary + " (count only)"
	head.Description = "Same as the GET list, with the headers only."
	huma.Register(api, head, func(ctx context.Context, in *I) (*HeadOutput, error) {
		_, link, total, err := run(ctx, in)
		if err != nil {
			return nil, err
		}
		return &HeadOutput{Link: link, ResultCount: total}, nil
	})
}

// linkHeader builds first/prev/next/last links the way Waldur's
// LinkHeaderPagination does, keeping every other query parameter.
func linkHeader(u *url.URL, page, last int) string {
	if u == nil {
		return ""
	}
	link := func(n int, rel string) string {
		c := *u
		q := c.Query()
		q.Set("page", strconv.Itoa(n))
		c.RawQuery = q.Encode()
		return "<" + c.String() + ">; rel=\"" + rel + "\""
	}
	parts := []string{link(1, "first")}
	if page > 1 {
		parts = append(parts, link(page-1, "prev"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"))
	}
	parts = append(parts, link(last, "last"))
	return strings.Join(parts, ", ")
}

type requestURLKey struct{}

// requestURL is the absolute URL of the request being served, as the client
// addressed it (honouring X-Forwarded-Proto/Host from a trusted proxy).
func requestURL(ctx context.Context) *url.URL {
	u, _ := ctx.Value(requestURLKey{}).(*url.URL)
	return u
}

func absoluteURL(r *http.Request, trustProxy bool) *url.URL {
	u := *r.URL
	u.Scheme = "http"
	if r.TLS != nil {
		u.Scheme = "https"
	}
	u.Host = r.Host
	if trustProxy {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			u.Scheme = p
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			u.Host = h
		}
	}
	return &u
}
