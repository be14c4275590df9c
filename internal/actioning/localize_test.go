package actioning

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
	"time"
)

func TestLocalize(t *testing.T) {
	names := map[string]string{
		"de":    "Sperre",
		"de_AT": "Sperre (AT)",
		"en":    "Ban",
		"pt-BR": "Banimento",
		"fr_FR": "Bannissement",
	}
	tests := []struct {
		name      string
		localized map[string]string
		preferred []string
		want      string
	}{
		{"nil map", nil, []string{"de"}, "plain"},
		{"nil preferred", names, nil, "plain"},
		{"empty preferred", names, []string{}, "plain"},
		{"no match", names, []string{"xx", "yy_ZZ"}, "plain"},
		{"bare exact", names, []string{"de"}, "Sperre"},
		{"exact locale beats bare language", names, []string{"de_AT"}, "Sperre (AT)"},
		{"exact locale with dash", names, []string{"de-AT"}, "Sperre (AT)"},
		{"exact locale case-insensitive", names, []string{"DE-at"}, "Sperre (AT)"},
		{"region falls back to bare language", names, []string{"de_CH"}, "Sperre"},
		{"key with dash, preferred with underscore", names, []string{"pt_BR"}, "Banimento"},
		{"key with dash, preferred lower case", names, []string{"pt-br"}, "Banimento"},
		{"bare preferred does not match regional key", names, []string{"pt", "fr"}, "plain"},
		{"preference order: first hit wins", names, []string{"en", "de"}, "Ban"},
		{"preference walking skips unknown", names, []string{"xx", "de_AT", "en"}, "Sperre (AT)"},
		{"earlier bare hit beats later exact hit", names, []string{"de_CH", "de_AT"}, "Sperre"},
		{"exact beats bare within one preference", map[string]string{"en": "Ban", "en_US": "Ban (US)"}, []string{"en_US"}, "Ban (US)"},
		{"upper-case key", map[string]string{"EN_us": "Ban (US)"}, []string{"en-US"}, "Ban (US)"},
		{"POSIX suffix on preferred", names, []string{"de_AT.UTF-8"}, "Sperre (AT)"},
		{"whitespace and empty preferred entries skipped", names, []string{"", "  ", " en "}, "Ban"},
		{"empty translation counts as missing", map[string]string{"de": "", "en": "Ban"}, []string{"de", "en"}, "Ban"},
		{"blank translation falls back to plain", map[string]string{"de": "  "}, []string{"de"}, "plain"},
		{"script subtag falls back to language", map[string]string{"zh": "禁止"}, []string{"zh-Hant-TW"}, "禁止"},
		{"unusable key ignored", map[string]string{"-": "junk", "en": "Ban"}, []string{"-", "en"}, "Ban"},
		{"duplicate spellings: first sorted key wins", map[string]string{"en_US": "underscore", "en-US": "dash"}, []string{"en_us"}, "dash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Localize("plain", tt.localized, tt.preferred); got != tt.want {
				t.Errorf("Localize(%v, %v) = %q, want %q", tt.localized, tt.preferred, got, tt.want)
			}
		})
	}
}

// TestLocalizedDurationForms covers every language × unit × singular/plural.
func TestLocalizedDurationForms(t *testing.T) {
	const day = 24 * time.Hour
	type forms struct{ s1, s2, m1, m2, h1, h2, d1, d2 string }
	want := map[string]forms{
		"en": {"1 second", "2 seconds", "1 minute", "2 minutes", "1 hour", "2 hours", "1 day", "2 days"},
		"de": {"1 Sekunde", "2 Sekunden", "1 Minute", "2 Minuten", "1 Stunde", "2 Stunden", "1 Tag", "2 Tage"},
		"fr": {"1 seconde", "2 secondes", "1 minute", "2 minutes", "1 heure", "2 heures", "1 jour", "2 jours"},
		"es": {"1 segundo", "2 segundos", "1 minuto", "2 minutos", "1 hora", "2 horas", "1 día", "2 días"},
		"et": {"1 sekund", "2 sekundit", "1 minut", "2 minutit", "1 tund", "2 tundi", "1 päev", "2 päeva"},
	}
	var langs []string
	for lang := range want {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	if got := DurationLanguages(); !reflect.DeepEqual(got, langs) {
		t.Fatalf("DurationLanguages() = %v, but the test covers %v: add the new language's forms here", got, langs)
	}
	for _, lang := range langs {
		f := want[lang]
		cases := []struct {
			d    time.Duration
			want string
		}{
			{time.Second, f.s1},
			{2 * time.Second, f.s2},
			{time.Minute, f.m1},
			{2 * time.Minute, f.m2},
			{time.Hour, f.h1},
			{2 * time.Hour, f.h2},
			{day, f.d1},
			{2 * day, f.d2},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%v", lang, c.d), func(t *testing.T) {
				if got := LocalizedDuration(c.d, []string{lang}); got != c.want {
					t.Errorf("LocalizedDuration(%v, [%s]) = %q, want %q", c.d, lang, got, c.want)
				}
			})
		}
	}
}

func TestLocalizedDurationFlooring(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		d    time.Duration
		want string
	}{
		{math.MinInt64, "0 seconds"},
		{-time.Hour, "0 seconds"},
		{-time.Nanosecond, "0 seconds"},
		{0, "0 seconds"},
		{time.Nanosecond, "0 seconds"},
		{999 * time.Millisecond, "0 seconds"},
		{time.Second, "1 second"},
		{1999 * time.Millisecond, "1 second"},
		{15 * time.Second, "15 seconds"},
		{59 * time.Second, "59 seconds"},
		{59900 * time.Millisecond, "59 seconds"},
		{60*time.Second - time.Nanosecond, "59 seconds"},
		{60 * time.Second, "1 minute"},
		{119 * time.Second, "1 minute"},
		{120 * time.Second, "2 minutes"},
		{3599 * time.Second, "59 minutes"},
		{3600 * time.Second, "1 hour"},
		{90 * time.Minute, "1 hour"},
		{7199 * time.Second, "1 hour"},
		{86399 * time.Second, "23 hours"},
		{86400 * time.Second, "1 day"},
		{day + 23*time.Hour + 59*time.Minute, "1 day"},
		{2*day + 3*time.Hour, "2 days"},
		{365 * day, "365 days"},
		{math.MaxInt64, "106751 days"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := LocalizedDuration(tt.d, nil); got != tt.want {
				t.Errorf("LocalizedDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestLocalizedDurationZeroIsPluralInEveryLanguage(t *testing.T) {
	want := map[string]string{
		"en": "0 seconds", "de": "0 Sekunden", "fr": "0 secondes", "es": "0 segundos", "et": "0 sekundit",
	}
	for _, lang := range DurationLanguages() {
		for _, d := range []time.Duration{-5 * time.Minute, 0, 500 * time.Millisecond} {
			if got := LocalizedDuration(d, []string{lang}); got != want[lang] {
				t.Errorf("LocalizedDuration(%v, [%s]) = %q, want %q", d, lang, got, want[lang])
			}
		}
	}
}

func TestLocalizedDurationLanguageChoice(t *testing.T) {
	tests := []struct {
		name      string
		preferred []string
		want      string
	}{
		{"nil falls back to English", nil, "2 days"},
		{"unknown falls back to English", []string{"xx", "zz_ZZ"}, "2 days"},
		{"preference walking", []string{"xx", "de_AT", "en"}, "2 Tage"},
		{"first supported wins", []string{"fr", "de"}, "2 jours"},
		{"regional underscore", []string{"de_DE"}, "2 Tage"},
		{"regional dash, mixed case", []string{"ES-mx"}, "2 días"},
		{"upper-case bare", []string{"ET"}, "2 päeva"},
		{"regional English", []string{"en_GB", "de"}, "2 days"},
		{"empty entries skipped", []string{"", "fr_CA"}, "2 jours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LocalizedDuration(48*time.Hour, tt.preferred); got != tt.want {
				t.Errorf("LocalizedDuration(48h, %v) = %q, want %q", tt.preferred, got, tt.want)
			}
		})
	}
}

func TestDurationLanguages(t *testing.T) {
	got := DurationLanguages()
	if !sort.StringsAreSorted(got) {
		t.Errorf("DurationLanguages() = %v, not sorted", got)
	}
	for _, want := range []string{"de", "en", "es", "et", "fr"} {
		if i := sort.SearchStrings(got, want); i == len(got) || got[i] != want {
			t.Errorf("DurationLanguages() = %v, missing %q", got, want)
		}
	}
	if _, ok := l10nDurationTables[l10nDurationFallback]; !ok {
		t.Errorf("fallback language %q has no table", l10nDurationFallback)
	}
	// The caller owns the slice.
	got[0] = "mutated"
	if DurationLanguages()[0] == "mutated" {
		t.Error("DurationLanguages() returns shared state")
	}
}

// TestDurationTablesWellFormed guards the "adding a language is one entry"
// rule: keys must be normalized (or they could never match) and every form
// must be filled in.
func TestDurationTablesWellFormed(t *testing.T) {
	for key, table := range l10nDurationTables {
		if n := l10nNormalize(key); n != key {
			t.Errorf("table key %q is not normalized (want %q)", key, n)
		}
		for name, u := range map[string]l10nUnit{
			"second": table.second, "minute": table.minute, "hour": table.hour, "day": table.day,
		} {
			if u.one == "" || u.other == "" {
				t.Errorf("table %q: unit %s has an empty form: %+v", key, name, u)
			}
		}
	}
}

// TestDurationTableSingularRule checks the hook for languages whose singular
// is not "exactly 1" (e.g. CLDR French, where 0 and 1 are singular).
func TestDurationTableSingularRule(t *testing.T) {
	table := l10nDurationTable{singularRule: func(n int64) bool { return n <= 1 }}
	for n, want := range map[int64]bool{0: true, 1: true, 2: false} {
		if got := table.singular(n); got != want {
			t.Errorf("singular(%d) = %v, want %v", n, got, want)
		}
	}
	var plain l10nDurationTable
	for n, want := range map[int64]bool{0: false, 1: true, 2: false, 21: false} {
		if got := plain.singular(n); got != want {
			t.Errorf("default singular(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestL10nNormalize(t *testing.T) {
	tests := map[string]string{
		"de":             "de",
		"en_US":          "en_us",
		"pt-BR":          "pt_br",
		" PT-br ":        "pt_br",
		"de_DE.UTF-8":    "de_de",
		"ca_ES@valencia": "ca_es",
		"zh-Hant-TW":     "zh_hant_tw",
		"":               "",
		"-":              "",
	}
	for in, want := range tests {
		if got := l10nNormalize(in); got != want {
			t.Errorf("l10nNormalize(%q) = %q, want %q", in, got, want)
		}
	}
}
