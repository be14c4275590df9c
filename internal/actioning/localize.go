package actioning

// Localization helpers for the FusionAuth-compatible user.action event
// (fusionauth-compat.md §1 LocalizedStrings and §6.5, "heed decides").
//
// This file is self-contained on purpose: it depends on the standard library
// only and on no other file of the package. Its unexported identifiers carry
// the "l10n" prefix so they cannot clash with the rest of the package.

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Localize resolves a FusionAuth LocalizedStrings value for a user.
//
// It walks preferred (the actionee's preferredLanguages) in order. For each
// preferred locale it first tries the exact locale key, then the bare
// language ("en_US" → "en"); the first hit wins. Locale keys and preferred
// locales are compared case-insensitively, with "_" and "-" treated alike, so
// "pt-BR", "pt_br" and "PT_BR" are the same key. POSIX suffixes such as
// ".UTF-8" or "@euro" on a preferred locale are ignored.
//
// heed decides: an empty (or all-whitespace) localized value counts as
// missing, so an empty translation never blanks out the plain text. When
// several keys of localized spell the same locale ("en_US" and "en-US"), the
// one that sorts first wins, so the result does not depend on map order.
//
// With no hit, plain is returned.
func Localize(plain string, localized map[string]string, preferred []string) string {
	if len(localized) == 0 || len(preferred) == 0 {
		return plain
	}
	keys := make([]string, 0, len(localized))
	for k, v := range localized {
		if strings.TrimSpace(v) == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	index := make(map[string]string, len(keys))
	for _, k := range keys {
		n := l10nNormalize(k)
		if n == "" {
			continue
		}
		if _, dup := index[n]; !dup {
			index[n] = localized[k]
		}
	}
	if v, ok := l10nMatch(index, preferred); ok {
		return v
	}
	return plain
}

// LocalizedDuration renders d (the time from now to an action's expiry) as
// FusionAuth's localizedDuration: floored to the largest whole unit among
// seconds, minutes, hours and days, with singular or plural, e.g. "1 hour"
// for 90 minutes, "2 days" for 2 days 3 hours, "59 seconds" for 59.9s.
// Durations under one second, and negative ones, give "0 seconds" (in the
// chosen language). A day is 24 hours.
//
// The language is the first entry of preferred that has a translation table,
// matched like Localize (exact locale, then bare language: "de_AT" → "de").
// English is the fallback. See DurationLanguages for the supported languages.
func LocalizedDuration(d time.Duration, preferred []string) string {
	table, ok := l10nMatch(l10nDurationTables, preferred)
	if !ok {
		table = l10nDurationTables[l10nDurationFallback]
	}
	var n int64
	var unit l10nUnit
	switch {
	case d >= 24*time.Hour:
		n, unit = int64(d/(24*time.Hour)), table.day
	case d >= time.Hour:
		n, unit = int64(d/time.Hour), table.hour
	case d >= time.Minute:
		n, unit = int64(d/time.Minute), table.minute
	case d >= time.Second:
		n, unit = int64(d/time.Second), table.second
	default: // under one second, or negative
		n, unit = 0, table.second
	}
	form := unit.other
	if table.singular(n) {
		form = unit.one
	}
	return strconv.FormatInt(n, 10) + " " + form
}

// DurationLanguages lists the languages LocalizedDuration has tables for, as
// normalized locale keys (lower case, "_" separated), sorted. The caller owns
// the returned slice.
func DurationLanguages() []string {
	langs := make([]string, 0, len(l10nDurationTables))
	for k := range l10nDurationTables {
		langs = append(langs, k)
	}
	sort.Strings(langs)
	return langs
}

// l10nUnit holds the singular ("one") and plural ("other") form of a unit.
type l10nUnit struct{ one, other string }

// l10nDurationTable is one language's translation of the four units.
type l10nDurationTable struct {
	second, minute, hour, day l10nUnit
	// singularRule reports whether a count takes the "one" form. nil means
	// the rule of all current tables: exactly 1 (so 0 is plural, "0 seconds").
	singularRule func(n int64) bool
}

func (t l10nDurationTable) singular(n int64) bool {
	if t.singularRule != nil {
		return t.singularRule(n)
	}
	return n == 1
}

// l10nDurationFallback is the table used when no preferred language has one.
const l10nDurationFallback = "en"

// l10nDurationTables maps a normalized locale key (see l10nNormalize) to its
// table. Adding a language is one entry; a regional variant ("pt_br") may be
// added next to its bare language and is preferred for that exact locale.
var l10nDurationTables = map[string]l10nDurationTable{
	"en": {
		second: l10nUnit{"second", "seconds"},
		minute: l10nUnit{"minute", "minutes"},
		hour:   l10nUnit{"hour", "hours"},
		day:    l10nUnit{"day", "days"},
	},
	"de": {
		second: l10nUnit{"Sekunde", "Sekunden"},
		minute: l10nUnit{"Minute", "Minuten"},
		hour:   l10nUnit{"Stunde", "Stunden"},
		day:    l10nUnit{"Tag", "Tage"},
	},
	"fr": {
		second: l10nUnit{"seconde", "secondes"},
		minute: l10nUnit{"minute", "minutes"},
		hour:   l10nUnit{"heure", "heures"},
		day:    l10nUnit{"jour", "jours"},
	},
	"es": {
		second: l10nUnit{"segundo", "segundos"},
		minute: l10nUnit{"minuto", "minutos"},
		hour:   l10nUnit{"hora", "horas"},
		day:    l10nUnit{"día", "días"},
	},
	"et": {
		second: l10nUnit{"sekund", "sekundit"},
		minute: l10nUnit{"minut", "minutit"},
		hour:   l10nUnit{"tund", "tundi"},
		day:    l10nUnit{"päev", "päeva"},
	},
}

// l10nMatch walks preferred in order and returns the value of the first
// exact locale hit, else the first bare-language hit, per preferred entry.
// index must be keyed by normalized locales.
func l10nMatch[T any](index map[string]T, preferred []string) (T, bool) {
	for _, p := range preferred {
		n := l10nNormalize(p)
		if n == "" {
			continue
		}
		if v, ok := index[n]; ok {
			return v, true
		}
		if lang := l10nBareLanguage(n); lang != n {
			if v, ok := index[lang]; ok {
				return v, true
			}
		}
	}
	var zero T
	return zero, false
}

// l10nNormalize turns a locale string into its comparison key: trimmed,
// lower case, "-" replaced by "_", and any POSIX ".charset" or "@modifier"
// suffix dropped ("de-AT" → "de_at", "de_DE.UTF-8" → "de_de").
func l10nNormalize(locale string) string {
	s := strings.TrimSpace(locale)
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, "-", "_")
	s = strings.Trim(s, "_")
	return strings.ToLower(s)
}

// l10nBareLanguage returns the language subtag of a normalized locale
// ("en_us" → "en").
func l10nBareLanguage(normalized string) string {
	if i := strings.IndexByte(normalized, '_'); i >= 0 {
		return normalized[:i]
	}
	return normalized
}
