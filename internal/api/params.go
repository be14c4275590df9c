package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// OptionalBool is a boolean query filter in django-filter's spelling:
// true/false, True/False or 1/0; empty means "no filter".
type OptionalBool string

// Schema declares the spellings accepted, so the document tells the truth.
func (OptionalBool) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Pattern: "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?$",
		PatternDescription: "Select a valid choice: true, false, 1 or 0.",
		Description:        "A boolean: true or false in any case, or 1 or 0; empty means no filter."}
}

// Parse returns nil for an empty filter and a DRF field error for anything
// that is not a boolean.
func (b OptionalBool) Parse(name string) (*bool, error) {
	var v bool
	switch strings.ToLower(string(b)) {
	case "":
		return nil, nil
	case "true", "1":
		v = true
	case "false", "0":
		v = false
	default:
		return nil, &DRFError{status: http.StatusBadRequest, fields: map[string][]string{
			name: {fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", string(b))},
		}}
	}
	return &v, nil
}

type clientAddrKey struct{}

func clientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}
