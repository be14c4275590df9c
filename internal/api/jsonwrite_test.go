package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"pgregory.net/rapid"
)

// jsonText draws strings that exercise every escape: quotes, backslashes,
// control characters, HTML characters (not escaped by Huma's encoder),
// U+2028/U+2029, multi-byte runes and invalid UTF-8.
func jsonText() *rapid.Generator[string] {
	pieces := rapid.SampledFrom([]string{
		"a", "Zürich", "日本", `"`, `\`, "/", "<", ">", "&", "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
		"\u2028", "\u2029", "\ufffd", "\xff", "\xe2\x80", "\xc3", "😀", " ", "{", "}", ":", ",", "[", "]", "null",
	})
	return rapid.Custom(func(t *rapid.T) string {
		var b bytes.Buffer
		for _, p := range rapid.SliceOfN(pieces, 0, 12).Draw(t, "pieces") {
			b.WriteString(p)
		}
		return b.String()
	})
}

// jsonValue draws what a stored version holds: nested objects and arrays of
// strings, numbers, booleans and nulls.
func jsonValue(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		kind := rapid.IntRange(0, 5).Draw(t, "kind")
		if depth == 0 && kind >= 4 {
			kind = 0
		}
		switch kind {
		case 0:
			return jsonText().Draw(t, "s")
		case 1:
			return rapid.Float64Range(-1e6, 1e6).Draw(t, "f")
		case 2:
			return rapid.Bool().Draw(t, "b")
		case 3:
			return nil
		case 4:
			return rapid.SliceOfN(jsonValue(depth-1), 0, 3).Draw(t, "a")
		}
		return rapid.MapOfN(jsonText(), jsonValue(depth-1), 0, 4).Draw(t, "o")
	})
}

// TestJSONAppendersMatchEncodingJSON: the hand-written JSON of the history
// bodies is byte for byte what Huma's encoding/json format writes for the
// same values, stored data compact (SQLite: encoding/json's output) or
// spaced (PostgreSQL's jsonb text), and any strings. (Where encoding/json
// would write null for missing stored data, which the NOT NULL column
// never gives, the appender writes the declared type's {}.)
func TestJSONAppendersMatchEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.MapOfN(jsonText(), jsonValue(2), 0, 6).Draw(t, "data")
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if rapid.Bool().Draw(t, "spaced") {
			var sp bytes.Buffer
			if err := json.Indent(&sp, raw, " ", "  "); err != nil {
				t.Fatal(err)
			}
			raw = sp.Bytes()
		}
		v := VersionHistory{
			ID:              rapid.Int64().Draw(t, "id"),
			RevisionDate:    time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "ns")).UTC(),
			RevisionComment: jsonText().Draw(t, "comment"),
			SerializedData:  storedJSON[map[string]any](raw),
		}
		if rapid.Bool().Draw(t, "user") {
			v.RevisionUser = RevisionUser{&VersionUser{UUID: jsonText().Draw(t, "uuid"), Username: jsonText().Draw(t, "username"),
				FullName: jsonText().Draw(t, "full_name")}}
		}
		at := VersionHistoryAt{VersionHistory: v, QueriedAt: jsonText().Draw(t, "queried_at")}
		list := []VersionHistory{v, v}
		for _, body := range []any{at, list, []VersionHistory{}} {
			sameAsEncodingJSON(t, body)
		}
	})
}

// sameAsEncodingJSON fails t unless jsonFormat writes body byte for byte
// as Huma's encoding/json format does.
func sameAsEncodingJSON(t *rapid.T, body any) {
	var want, got bytes.Buffer
	if err := huma.DefaultJSONFormat.Marshal(&want, body); err != nil {
		t.Fatal(err)
	}
	if err := jsonFormat.Marshal(&got, body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%T:\n got %q\nwant %q", body, got.Bytes(), want.Bytes())
	}
}

func TestJSONAppenderMissingStoredData(t *testing.T) {
	var got bytes.Buffer
	if err := jsonFormat.Marshal(&got, []VersionHistory{{}}); err != nil {
		t.Fatal(err)
	}
	want := `[{"id":0,"revision_date":"0001-01-01T00:00:00Z","revision_user":null,"revision_comment":"","serialized_data":{}}]` + "\n"
	if got.String() != want {
		t.Errorf("got %q, want %q", got.String(), want)
	}
}

// TestUserActionAppenderMatchesEncodingJSON: a user action's hand-written
// JSON is byte for byte Huma's encoding/json output, for any strings,
// present or null optional fields, stored JSON compact or spaced or
// missing, alone and in a list.
func TestUserActionAppenderMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := func(name string) string { return jsonText().Draw(t, name) }
		instant := func(name string) time.Time {
			return time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, name+"_s"), rapid.Int64Range(0, 999999999).Draw(t, name+"_ns")).UTC()
		}
		optText := func(name string) *string {
			if rapid.Bool().Draw(t, name+"?") {
				return nil
			}
			s := text(name)
			return &s
		}
		optTime := func(name string) *time.Time {
			if rapid.Bool().Draw(t, name+"?") {
				return nil
			}
			v := instant(name)
			return &v
		}
		stored := func(name string) []byte {
			switch rapid.IntRange(0, 2).Draw(t, name+"_form") {
			case 0:
				return nil
			case 1:
				raw, _ := json.Marshal(rapid.SliceOfN(jsonValue(2), 0, 3).Draw(t, name))
				return raw
			}
			raw, _ := json.Marshal(rapid.MapOfN(jsonText(), jsonValue(2), 0, 4).Draw(t, name))
			var sp bytes.Buffer
			_ = json.Indent(&sp, raw, "", " ")
			return sp.Bytes()
		}
		var days *int
		if rapid.Bool().Draw(t, "days?") {
			d := rapid.IntRange(-100000, 100000).Draw(t, "days")
			days = &d
		}
		a := UserAction{
			UUID: text("uuid"), ActionType: text("type"), Title: text("title"), Description: text("description"),
			Urgency: text("urgency"), DueDate: optTime("due"), DaysUntilDue: days, IsSilenced: rapid.Bool().Draw(t, "silenced"),
			SilencedUntil: optTime("until"), IsTemporarilySilenced: rapid.Bool().Draw(t, "temp"),
			IsEffectivelySilenced: rapid.Bool().Draw(t, "eff"), RelatedObjectName: text("ron"), RelatedObjectType: text("rot"),
			CorrectiveActions: storedJSON[[]CorrectiveAction](stored("ca")), RouteName: text("route"),
			RouteParams: storedJSON[map[string]any](stored("rp")), ProjectName: text("pn"), ProjectUUID: optText("pu"),
			OrganizationName: text("on"), OrganizationUUID: optText("ou"), OfferingName: text("ofn"), OfferingUUID: optText("ofu"),
			OfferingType: text("oft"), ResourceName: text("rn"), ResourceUUID: optText("ru"), OrderType: text("ot"),
			Created: instant("created"), Modified: instant("modified"),
		}
		for _, body := range []any{a, []UserAction{a, a}, []UserAction{}} {
			sameAsEncodingJSON(t, body)
		}
	})
}
