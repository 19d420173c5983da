package eventlog_test

import (
	"testing"

	"github.com/emnify-mock/emnify-mock/eventlog"
)

// BenchmarkFind compares a page of a one-value type filter with pages of
// two and six values over 250,000 events, newest first:
//
//	go test -run '^$' -bench Find -benchmem ./eventlog
func BenchmarkFind(b *testing.B) {
	l, _, org := logOf(b, 250_000)
	for _, q := range []string{"type:9", "type:8|9", "type:8|9|10|45|48|69"} {
		b.Run(q, func(b *testing.B) {
			eq, err := eventlog.ParseQuery(l, eventlog.Scope{Org: org}, q, "-id")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				l.Find(eq, 3, 100)
			}
		})
	}
}
