package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// registerOps adds the operational endpoints, the OpenAPI document and the
// docs page. They are plain handlers, outside the OpenAPI document.
func registerOps(mux *http.ServeMux, api huma.API, deps Deps) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// Checked first and without touching the database: a draining
		// process must look unready at once, however busy it is.
		if deps.Draining != nil && deps.Draining() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shutting down"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := deps.DB.Ping(ctx); err != nil {
			deps.Logger.Warn("readiness: database unreachable", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		current, err := deps.DB.MigrationsCurrent(ctx)
		if err != nil || !current {
			deps.Logger.Warn("readiness: migrations not current", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "migrations pending"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if deps.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Metrics, promhttp.HandlerOpts{}))
	}

	var (
		once     sync.Once
		jsonDoc  []byte
		yamlDoc  []byte
		buildErr error
	)
	build := func() {
		jsonDoc, buildErr = json.Marshal(api.OpenAPI())
		if buildErr == nil {
			yamlDoc, buildErr = api.OpenAPI().YAML()
		}
	}
	mux.HandleFunc("GET /api/schema/{$}", func(w http.ResponseWriter, r *http.Request) {
		once.Do(build)
		if buildErr != nil {
			deps.Logger.Error("render openapi", "error", buildErr)
			writeDRF(w, detailError(http.StatusInternalServerError, msgInternal))
			return
		}
		switch r.URL.Query().Get("format") {
		case "yaml":
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(yamlDoc)
		case "", "json", "openapi-json":
			w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
			_, _ = w.Write(jsonDoc)
		default:
			writeDRF(w, detailError(http.StatusNotFound, "Not found."))
		}
	})
	// Swagger UI with its assets embedded in the binary: the page works with
	// no network access.
	docs := v5emb.NewHandlerWithConfig(swgui.Config{
		Title: "heed API", SwaggerJSON: "/api/schema/", BasePath: "/api/docs/",
		SettingsUI: map[string]string{"validatorUrl": "null"},
	})
	mux.Handle("GET /api/docs/", docs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
