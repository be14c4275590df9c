package jobs

import "net/http"

// Dashboard is River's own UI for this runner's queues, or nil when it is
// not available.
func (r *Runner) Dashboard() http.Handler { return nil }
