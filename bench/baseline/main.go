// Command baseline serves fixed responses with bare net/http: the floor
// heed's request path is compared against in bench/*.sh.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

// routes is a repeatable PATH=FILE flag.
type routes map[string]string

func (r routes) String() string { return fmt.Sprint(map[string]string(r)) }

func (r routes) Set(v string) error {
	path, file, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want PATH=FILE, got %q", v)
	}
	r[path] = file
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18181", "listen address")
	body := flag.String("body", "", "file holding the response body of GET /api/users/me/")
	rs := routes{}
	flag.Var(rs, "route", "PATH=FILE: serve FILE at GET PATH (repeatable)")
	flag.Parse()
	if *body != "" {
		rs["/api/users/me/"] = *body
	}
	for path, file := range rs {
		b, err := os.ReadFile(file)
		if err != nil {
			log.Fatalf("read body: %v", err)
		}
		http.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
		})
	}
	log.Fatal(http.ListenAndServe(*addr, nil))
}
