// Package clientaddr names the address a request comes from, the one rule
// the API and the console share: login throttling keys on it and actions
// taken on users record it.
package clientaddr

import (
	"net"
	"net/http"
	"strings"
)

// Of is the client's address: the peer's host, or, behind a trusted proxy
// (trustProxy), the first X-Forwarded-For entry.
func Of(r *http.Request, trustProxy bool) string {
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
