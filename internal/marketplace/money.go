package marketplace

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is stored as integer minor units (cents): an integer compares and
// sorts alike on SQLite and PostgreSQL and holds every accepted amount
// exactly. On the wire it stays a decimal string with two decimals, as
// Waldur sends it ("10.50").
const (
	// MoneyDecimals is the declared scale: more decimals are refused, never
	// rounded.
	MoneyDecimals = 2
	// MoneyIntegerDigits is the declared precision before the point.
	MoneyIntegerDigits = 12
	// MaxMoneyMinor is the largest amount accepted, 999999999999.99.
	MaxMoneyMinor int64 = 99_999_999_999_999
)

// Messages of money refusals, worded as DRF's DecimalField words them.
const (
	msgMoneyNotNumber = "A valid number is required."
	msgMoneyNegative  = "Ensure this value is greater than or equal to 0."
)

var (
	msgMoneyDecimals = fmt.Sprintf("Ensure that there are no more than %d decimal places.", MoneyDecimals)
	msgMoneyDigits   = fmt.Sprintf("Ensure that there are no more than %d digits before the decimal point.", MoneyIntegerDigits)
)

// ParseMoneyMinor reads a non-negative decimal amount such as "10", "10.5"
// or "10.50" into minor units. It accepts plain decimal notation only (no
// sign, exponent, NaN or Infinity) within MoneyIntegerDigits and
// MoneyDecimals; anything else returns the DRF message that refuses it.
// Nothing is ever rounded: "1.005" is refused, not stored as 1.01 or 1.00.
func ParseMoneyMinor(s string) (int64, string) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		if _, msg := ParseMoneyMinor(rest); msg == "" {
			return 0, msgMoneyNegative
		}
		return 0, msgMoneyNotNumber
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasPoint && (frac == "" || !allDigits(frac))) {
		return 0, msgMoneyNotNumber
	}
	if len(frac) > MoneyDecimals {
		return 0, msgMoneyDecimals
	}
	if whole = strings.TrimLeft(whole, "0"); len(whole) > MoneyIntegerDigits {
		return 0, msgMoneyDigits
	}
	// At most 12 + 2 digits: always fits an int64.
	digits := whole + frac + strings.Repeat("0", MoneyDecimals-len(frac))
	minor, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, msgMoneyNotNumber
	}
	return minor, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatMoneyMinor renders minor units as a decimal string with two
// decimals ("10.50").
func FormatMoneyMinor(minor int64) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		// Never stored (a CHECK refuses it), but render it truthfully.
		sign, u = "-", uint64(-minor)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
