package console

// actionRoutes registers the pages of actions.go.
func (c *Console) actionRoutes() {}
