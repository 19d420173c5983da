package eventlog_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/generator"
)

// logOf appends n churn events of one workspace.
func logOf(tb testing.TB, n int) (*eventlog.Log, []generator.Event, int64) {
	tb.Helper()
	churn, err := generator.NewChurn(3, generator.ChurnOptions{Workspaces: 1})
	if err != nil {
		tb.Fatal(err)
	}
	l := eventlog.NewLog()
	events := make([]generator.Event, n)
	for i := range events {
		events[i] = churn.Next()
	}
	l.Append(events...)
	return l, events, events[0].Organisation.ID
}

func find(tb testing.TB, l *eventlog.Log, org int64, q, sort string, page, per int) (int, []string) {
	tb.Helper()
	eq, err := eventlog.ParseQuery(l, eventlog.Scope{Org: org}, q, sort)
	if err != nil {
		tb.Fatal(err)
	}
	total, out, _ := l.Find(eq, page, per)
	var s []string
	for _, b := range out {
		s = append(s, string(b))
	}
	return total, s
}

// TestFind_MultiValuePagesAreTheMerge: a page of q=type:A|B sorted by id,
// either way, is that page of all matching events in id order.
func TestFind_MultiValuePagesAreTheMerge(t *testing.T) {
	l, events, org := logOf(t, 3000)
	r := rand.New(rand.NewPCG(1, 2))
	types := []int{8, 9, 10, 42, 43, 45, 48, 50, 51, 68, 69}
	for range 200 {
		var pick []int
		for range 1 + r.IntN(4) {
			pick = append(pick, types[r.IntN(len(types))])
		}
		var want []string
		for _, e := range events {
			if slices.Contains(pick, e.Type.ID) {
				want = append(want, string(e.AppendJSON(nil)))
			}
		}
		desc := r.IntN(2) == 1
		if desc {
			slices.Reverse(want)
		}
		per := 1 + r.IntN(50)
		page := 1 + r.IntN(len(want)/per+2)
		q := "type:"
		for i, ty := range pick {
			if i > 0 {
				q += "|"
			}
			q += fmt.Sprint(ty)
		}
		sort := map[bool]string{true: "-id", false: "id"}[desc]
		total, got := find(t, l, org, q, sort, page, per)
		pages := max(1, (len(want)+per-1)/per)
		p := min(page, pages)
		if total != len(want) || !slices.Equal(got, want[(p-1)*per:min(p*per, len(want))]) {
			t.Fatalf("q=%s sort=%s page %d per %d: total %d (want %d), %d events differ from the merge", q, sort, page, per, total, len(want), len(got))
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestFind_CostFollowsThePage: a page of a multi-value query, and a
// stream's count of what it still owes, allocate the same at ten times
// the log (they read the indexes, not the matches).
func TestFind_CostFollowsThePage(t *testing.T) {
	cost := func(n int) (query, count uint64) {
		l, _, org := logOf(t, n)
		eq, err := eventlog.ParseQuery(l, eventlog.Scope{Org: org}, "type:8|9|45", "-id")
		if err != nil {
			t.Fatal(err)
		}
		query = allocated(func() {
			for page := 1; page <= 20; page++ {
				l.Find(eq, page*5, 10) // pages inside both logs
			}
		})
		count = allocated(func() {
			for range 20 {
				l.Count(org, []int{8, 9, 45}, false, n/2)
			}
		})
		return query, count
	}
	q1, c1 := cost(5_000)
	q10, c10 := cost(50_000)
	if float64(q10) > 1.5*float64(q1) {
		t.Errorf("a page of type:8|9|45 allocates %d bytes at 50,000 events, %d at 5,000: it grows with the log", q10/20, q1/20)
	}
	if c10 > c1+1024 {
		t.Errorf("Count allocates %d bytes at 50,000 events, %d at 5,000", c10, c1)
	}
}

// TestCount_IsWhatAScanFinds: Count agrees with counting entries.
func TestCount_IsWhatAScanFinds(t *testing.T) {
	l, events, org := logOf(t, 2000)
	for _, c := range []struct {
		types []int
		alert bool
	}{{nil, false}, {[]int{8, 9}, false}, {[]int{9, 9}, false}, {nil, true}, {[]int{45, 8}, true}} {
		for _, from := range []int{0, 1, 999, 1999, 2000} {
			want := 0
			for _, e := range events[from:] {
				if e.Organisation.ID == org && (c.types == nil || slices.Contains(c.types, e.Type.ID)) && (!c.alert || e.Alert) {
					want++
				}
			}
			if got := l.Count(org, c.types, c.alert, from); got != want {
				t.Errorf("Count(%v, alert %v, from %d) = %d, a scan finds %d", c.types, c.alert, from, got, want)
			}
		}
	}
}
