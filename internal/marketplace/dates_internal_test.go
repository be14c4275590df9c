package marketplace

import (
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/errs"
)

// TestRenewedEndDateRange: renewing can never produce a date outside years
// 1–9999. Before, end_date 9999-12-31 plus extension_days 3650 gave
// 10009-12-28, which SQLite stored and then failed to read (every list
// holding the resource answered 500).
func TestRenewedEndDateRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	days := func(n int) *int { return &n }
	for _, c := range []struct {
		name  string
		end   *string
		in    RenewInput
		want  string
		field string
	}{
		{"extension past 9999", str("9999-12-31"), RenewInput{ExtensionDays: days(3650)}, "", "extension_days"},
		{"one day past 9999", str("9999-12-31"), RenewInput{ExtensionDays: days(1)}, "", "extension_days"},
		{"extension up to the last day", str("9998-12-31"), RenewInput{ExtensionDays: days(365)}, "9999-12-31", ""},
		{"extension from today", nil, RenewInput{ExtensionDays: days(30)}, "2026-12-31", ""},
		{"end date year 0", nil, RenewInput{EndDate: str("0000-01-01")}, "", "end_date"},
		{"end date year 10000", nil, RenewInput{EndDate: str("10000-01-01")}, "", "end_date"},
		{"end date the last day", str("2030-01-01"), RenewInput{EndDate: str("9999-12-31")}, "9999-12-31", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := renewedEndDate(&Resource{EndDate: c.end}, c.in, now)
			if c.field != "" {
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.Invalid || len(e.Fields[c.field]) == 0 {
					t.Fatalf("got %q, %v; want a 400 on %s", got, err, c.field)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %s", got, err, c.want)
			}
		})
	}
}
