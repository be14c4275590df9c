package console

// historyRoutes registers the pages of history.go.
func (c *Console) historyRoutes() {}
