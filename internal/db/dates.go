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

// TimeColumn is how a hot read selects a timestamp column that it scans
// into a Time. On SQLite it is the column behind a unary plus, which
// changes no value but leaves the result without a declared type: modernc's
// driver then hands over the stored text instead of trying layouts on it
// (a failing time.Parse and a second parse per value, 7 % of a user-action
// page's CPU), and Time reads heed's one layout directly. On PostgreSQL it
// is the column.
func (d Dialect) TimeColumn(col string) string {
	if d == SQLite {
		return "+" + col
	}
	return col
}

// Time scans a nullable timestamp selected with TimeColumn: a time.Time
// (PostgreSQL, or a SQLite column selected plainly) or the text SQLite
// stores. The result is in UTC.
type Time struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	*t = Time{}
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		t.Time, t.Valid = x.UTC(), true
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	}
	return fmt.Errorf("scan %T into a time", v)
}

// Ptr is the time, or nil when NULL.
func (t Time) Ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// otherTimeLayouts are what a timestamp may also look like in SQLite: text
// written before timeLayout, by hand, or by SQLite's own functions.
var otherTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func (t *Time) parse(s string) error {
	if v, ok := parseTimeLayout(s); ok {
		t.Time, t.Valid = v, true
		return nil
	}
	for _, l := range otherTimeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			t.Time, t.Valid = v.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("stored time %q is in no known layout", s)
}

// parseTimeLayout reads timeLayout ("2006-01-02T15:04:05.000000Z") without
// time.Parse's generality.
func parseTimeLayout(s string) (time.Time, bool) {
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, micro := num(11, 13), num(14, 16), num(17, 19), num(20, 26)
	if !ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	v := time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC)
	if v.Day() != day {
		return time.Time{}, false // 31 April: time.Date would roll it over
	}
	return v, true
}
