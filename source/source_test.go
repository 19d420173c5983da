package source_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/source"
)

func TestTakeAndPull(t *testing.T) {
	src := source.Take(source.Churn{Seed: 1}, 5)
	next, stop := source.Pull(src)
	defer stop()
	var ids []int64
	for {
		e, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != 5 {
		t.Fatalf("Take 5 gave %d events", len(ids))
	}
	var again []int64
	source.Take(source.Churn{Seed: 1}, 5).Each(func(e source.Event) error { again = append(again, e.ID); return nil })
	if fmt.Sprint(again) != fmt.Sprint(ids) {
		t.Errorf("the same seed gave %v, then %v", ids, again)
	}
	if n := count(t, source.Take(source.Churn{Seed: 1}, 0)); n != 0 {
		t.Errorf("Take 0 gave %d", n)
	}
}

func count(t *testing.T, s source.Source) int {
	n := 0
	if err := s.Each(func(source.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadJSON_LinesStayRightOverALongInput: line numbers of values and of
// errors are right deep into an input, in every layout, though the reader
// forgets the lines it has passed.
func TestReadJSON_LinesStayRightOverALongInput(t *testing.T) {
	const n = 50_000
	var nd, arr strings.Builder
	arr.WriteString("[\n")
	for i := range n {
		fmt.Fprintf(&nd, "{\"id\":%d}\n", i)
		if i > 0 {
			arr.WriteString(",\n")
		}
		fmt.Fprintf(&arr, "{\"id\":%d}", i)
	}
	for name, c := range map[string]struct {
		text      string
		firstLine int
	}{"ndjson": {nd.String() + "{\"id\":\n", 1}, "array": {arr.String() + ",\n{\"id\" 1}]", 2}} {
		got := 0
		err := source.ReadJSON(strings.NewReader(c.text), name, func(raw json.RawMessage, line int) error {
			if want := c.firstLine + got; line != want {
				return fmt.Errorf("value %d on line %d, want %d", got, line, want)
			}
			got++
			return nil
		})
		var se *source.Error
		if !errors.As(err, &se) || got != n || se.Line != n+c.firstLine || name == "array" && se.Col != 7 {
			t.Errorf("%s: %d values, error %v; want %d values and an error on line %d", name, got, err, n, n+c.firstLine)
		}
	}
}
