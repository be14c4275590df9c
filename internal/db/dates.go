package db

import (
	"fmt"
	"time"
)

// DateLayout is how dates travel and how SQLite stores them: fixed width
// for years 1–9999, so text order is date order there as on PostgreSQL.
const DateLayout = "2006-01-02"

// MinYear and MaxYear bound every date heed stores: the years both engines,
// Go's layouts and SQLite's text ordering represent alike. Year 0 is a date
// to Go and SQLite but an error (22008) to PostgreSQL; year 10000 is a date
// to PostgreSQL but five digits of text that sorts wrongly on SQLite and
// that Go's layout cannot read back.
const (
	MinYear = 1
	MaxYear = 9999
)

// DateInRange reports whether t's year lies within MinYear..MaxYear.
func DateInRange(t time.Time) bool {
	y := t.Year()
	return y >= MinYear && y <= MaxYear
}

// NullDate scans a nullable DATE column on either engine and never fails
// the row over a stored value it cannot read: such a value leaves Valid
// false and is kept in Bad, so the caller can log it and serve the rest of
// the row. Input validation keeps such values out (design.md §7); this is
// for what got in before it did, or by hand.
type NullDate struct {
	Time  time.Time
	Valid bool
	// Bad is the stored value that is not a date in range, if any.
	Bad string
}

// Scan implements sql.Scanner. PostgreSQL (pgx) delivers a date as a
// time.Time, or as a string for infinity; modernc's SQLite driver
// delivers a time.Time when the DATE column's text parses and the raw
// string when it does not.
func (d *NullDate) Scan(v any) error {
	*d = NullDate{}
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		if DateInRange(x) {
			d.Time, d.Valid = x, true
			return nil
		}
		d.Bad = x.String()
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		d.Bad = fmt.Sprintf("%T %v", v, v)
		return nil
	}
	if t, err := time.Parse(DateLayout, s); err == nil && DateInRange(t) {
		d.Time, d.Valid = t, true
		return nil
	}
	d.Bad = s
	return nil
}
