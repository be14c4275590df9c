package console

// jobRoutes registers the pages of jobs.go.
func (c *Console) jobRoutes() {}
