package marketplace

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// roundTrip is what copyMap did before: encode and decode again.
func roundTrip(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestCopyMapIsTheRoundTrip: copyMap gives what a JSON round trip gives,
// for decoded JSON and for what did not come from JSON, and the copy
// shares nothing with the original.
func TestCopyMapIsTheRoundTrip(t *testing.T) {
	t.Parallel()
	docs := []string{`{}`, `{"a":1,"b":[1,"x",null,true,{"c":{}}],"d":{"e":[]},"f":1e300,"g":-0.5,"h":"é\u2028"}`,
		`{"n":null,"big":12345678901234567890}`}
	var inputs []map[string]any
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m)
	}
	inputs = append(inputs,
		map[string]any{"int": 4, "bad": "a\xffb", "nested": map[string]any(nil)},
		map[string]any{"k\xfe": "v"},
		map[string]any{"list": []any(nil), "nan": math.NaN()},
		map[string]any{"typed": map[string]int{"x": 1}},
	)
	for _, in := range inputs {
		got, want := copyMap(in), roundTrip(in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("copyMap(%#v) = %#v, want %#v", in, got, want)
		}
	}
	in := inputs[1]
	out := copyMap(in)
	out["d"].(map[string]any)["e"] = "changed"
	out["b"].([]any)[0] = "changed"
	if !reflect.DeepEqual(in, roundTrip(in)) || in["d"].(map[string]any)["e"] == "changed" || in["b"].([]any)[0] == "changed" {
		t.Errorf("changing the copy changed the original: %#v", in)
	}
}
