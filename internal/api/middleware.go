package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StatusClientClosedRequest is nginx's 499 "client closed request": the
// client went away before the response was complete. It is what the log
// line and the request metrics say of such a request, never a 500.
const StatusClientClosedRequest = 499

// statusRecorder remembers the status and whether anything was written.
// It holds the status back until the first byte of the body (or the end
// of the request), so that a body written in one piece can still declare
// its Content-Length (jsonFormat does): net/http otherwise sends a body of
// more than 2 KiB chunked, in one more write to the socket per request.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
	// pending: status is recorded but not yet sent.
	pending bool
	bytes   int
}

// WriteHeader records the status once. A later call reaches nobody (net/http
// would only log "superfluous response.WriteHeader"), so it is dropped;
// Huma makes one with 499 when writing the body failed because the client
// left, and that is recorded for the log line.
func (s *statusRecorder) WriteHeader(code int) {
	if s.written {
		if code == StatusClientClosedRequest {
			s.status = code
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Informational: the final status is still to come.
		s.ResponseWriter.WriteHeader(code)
		return
	}
	s.status = code
	s.written = true
	s.pending = true
}

// sendHeader sends a status WriteHeader held back.
func (s *statusRecorder) sendHeader() {
	if s.pending {
		s.pending = false
		s.ResponseWriter.WriteHeader(s.status)
	}
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.written {
		s.status = http.StatusOK
		s.written = true
	}
	s.sendHeader()
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// FlushError sends what is held back: http.ResponseController finds it
// before it unwraps.
func (s *statusRecorder) FlushError() error {
	s.sendHeader()
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recoverJSON turns a handler panic into a logged 500 with a DRF body, so
// the client never sees a dropped connection.
func recoverJSON(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Share logRequests' recorder when it wraps this one: a second
		// recorder would forward the status twice.
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
			defer rec.sendHeader()
		}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if err, ok := p.(error); ok && clientGone(r) {
				if _, bug := err.(runtime.Error); !bug {
					// Huma panics when it cannot write the response; here
					// because the client left. logRequests says 499.
					log.Debug("response abandoned by the client", "method", r.Method, "path", r.URL.Path, "error", err.Error())
					return
				}
			}
			log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rec.pending {
				// A status but no byte went out: the 500 can still replace it.
				rec.written, rec.pending = false, false
			}
			if !rec.written {
				if isFusionAuthPath(r.URL.Path) {
					rec.WriteHeader(http.StatusInternalServerError)
				} else {
					writeDRF(rec, detailError(http.StatusInternalServerError, msgInternal))
				}
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// bodyDeadline gives a request timeout to read its body, and clears the
// deadline once the body is read. Huma's own BodyReadTimeout sets the
// connection's read deadline and leaves it set; net/http's background read,
// which starts when the body is consumed, then fails at the deadline and
// cancels the request's context, so any handler running longer than that
// (a transactional webhook waiting for its receivers, bcrypt on a busy
// machine) was cut off and answered 499 though its client was still there.
func bodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			// Not a real connection (an in-process test): nothing to bound.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the read deadline when its body has been read to the
// end: the deadline applies to reads already waiting, so the server's
// background read that starts at EOF no longer times out.
type deadlineBody struct {
	io.ReadCloser
	clear func()
	once  sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.clear)
	}
	return n, err
}

// clientGone reports whether the client abandoned r: net/http cancels a
// request's context when its connection closes or a write to it fails, and
// a response is only complete once the handler has returned (the last of it
// is flushed after), so a cancelled context here means nobody got it.
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// requestInfo is filled in by inner handlers (which see copies of the
// request) for the log line and metrics written by the outermost one.
type requestInfo struct {
	route string
	user  string
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	if reg == nil {
		return nil
	}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "heed_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// logRequests writes one structured line per request and feeds the metrics.
// The route label is the mux pattern, so metrics stay bounded whatever the
// uuids in the paths.
func logRequests(log *slog.Logger, m *httpMetrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		info := &requestInfo{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		rec.sendHeader() // a status with no body
		elapsed := time.Since(start)
		status := rec.status
		if !rec.written {
			status = http.StatusOK
		}
		gone := clientGone(r)
		if gone {
			// Whatever the handler made of its cancelled context (a 500
			// from an interrupted query, a 401 from an interrupted token
			// lookup), nobody received it.
			status = StatusClientClosedRequest
		}
		route := info.route
		if route == "" {
			route = "unmatched"
		}
		if m != nil {
			s := strconv.Itoa(status)
			m.requests.WithLabelValues(route, r.Method, s).Inc()
			m.latency.WithLabelValues(route, s).Observe(elapsed.Seconds())
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if !log.Enabled(r.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
			slog.Int("status", status), slog.Int("bytes", rec.bytes), slog.Duration("duration", elapsed),
			slog.String("remote", r.RemoteAddr),
		}
		if gone {
			attrs = append(attrs, slog.String("outcome", "client closed request"))
		}
		if info.user != "" {
			attrs = append(attrs, slog.String("user", info.user))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
