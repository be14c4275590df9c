package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// OptionalBool is a boolean query filter in django-filter's spelling:
// true/false, True/False or 1/0; empty means "no filter".
type OptionalBool string

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

// remoteAddr is the client's address: the peer, or with a trusted proxy the
// first X-Forwarded-For entry.
func remoteAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
