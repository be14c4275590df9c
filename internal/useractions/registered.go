package useractions

// ActionTypes lists the registered providers' action types in the order
// Update runs them, so a caller can run (and report on) one at a time.
func (s *Service) ActionTypes() []string {
	out := make([]string, len(s.providers))
	for i, r := range s.providers {
		out[i] = r.p.ActionType()
	}
	return out
}
