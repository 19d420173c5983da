package generator_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/emnify-mock/emnify-mock/fixtures"
	"github.com/emnify-mock/emnify-mock/generator"
)

// FuzzEvent_Unmarshal: no input makes decoding panic, and whatever decodes
// re-encodes to JSON that decodes to the same encoding.
// Run: go test -fuzz FuzzEvent_Unmarshal ./generator
func FuzzEvent_Unmarshal(f *testing.F) {
	for _, ex := range fixtures.DocsExamples() {
		f.Add(ex.JSON)
	}
	f.Add(stream(f, 5, 30))
	f.Add([]byte(`{"timestamp":"2021-10-06 10:42:58","alert":1}`)) // quirks seen in the docs
	f.Add([]byte(`{"detail":null,"user":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e generator.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return
		}
		once := e.AppendJSON(nil)
		if !json.Valid(once) {
			t.Fatalf("encoding is not JSON: %s", once)
		}
		var back generator.Event
		if err := json.Unmarshal(once, &back); err != nil {
			t.Fatalf("own encoding does not decode: %v\n%s", err, once)
		}
		if twice := back.AppendJSON(nil); !bytes.Equal(once, twice) {
			t.Fatalf("not stable:\n%s\n%s", once, twice)
		}
	})
}
