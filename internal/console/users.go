package console

// userRoutes registers the pages of users.go.
func (c *Console) userRoutes() {}
