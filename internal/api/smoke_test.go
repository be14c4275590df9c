package api_test

import (
	"net/http"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

func TestSmokeMe(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		me := h.Do(http.MethodGet, "/api/users/me/", apptest.Alice, nil).Want(t, http.StatusOK).Object(t)
		if me["username"] != "alice" {
			t.Fatalf("me = %v", me)
		}
	})
}
