package console

// marketRoutes registers the pages of market.go.
func (c *Console) marketRoutes() {}
