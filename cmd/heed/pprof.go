package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves net/http/pprof on addr, on a listener and mux of its
// own: the profiles never appear on the API's address, and the API's
// middleware (auth, logging, metrics) never sees them. It returns a
// function that stops the server.
//
//	heed serve --pprof-addr 127.0.0.1:6060
//	go tool pprof -seconds 20 http://127.0.0.1:6060/debug/pprof/profile
func startPprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	bound := ln.Addr().String()
	if host, _, _ := net.SplitHostPort(bound); !net.ParseIP(host).IsLoopback() {
		log.Warn("pprof is served on a non-loopback address: anyone who reaches it can read heed's memory and command line", "addr", bound)
	}
	log.Info("pprof listening", "addr", bound)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "error", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}
