package clientaddr_test

import (
	"net/http/httptest"
	"testing"

	"github.com/heed-dev/heed/internal/clientaddr"
)

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name, remote, xff string
		trust             bool
		want              string
	}{
		{"peer", "192.0.2.7:5555", "", false, "192.0.2.7"},
		{"peer, forwarded header not trusted", "192.0.2.7:5555", "203.0.113.9", false, "192.0.2.7"},
		{"trusted proxy: first entry", "10.0.0.1:80", " 203.0.113.9 , 10.0.0.2", true, "203.0.113.9"},
		{"trusted proxy without the header", "10.0.0.1:80", "", true, "10.0.0.1"},
		{"IPv6 peer", "[2001:db8::1]:443", "", false, "2001:db8::1"},
		{"no port", "192.0.2.7", "", false, "192.0.2.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := clientaddr.Of(r, c.trust); got != c.want {
				t.Errorf("Of = %q, want %q", got, c.want)
			}
		})
	}
}
