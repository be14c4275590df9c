// Command baseline serves one fixed response with bare net/http: the floor
// heed's request path is compared against in bench/users-me.sh.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18181", "listen address")
	body := flag.String("body", "", "file holding the response body")
	flag.Parse()
	b, err := os.ReadFile(*body)
	if err != nil {
		log.Fatalf("read body: %v", err)
	}
	http.HandleFunc("GET /api/users/me/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
