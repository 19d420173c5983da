package control_test

import (
	"strconv"
	"testing"

	"github.com/emnify-mock/emnify-mock/server/control"
)

// TestJournal_KeepsTheNewest: past JournalMax the oldest entries go, and
// the rest come out oldest first.
func TestJournal_KeepsTheNewest(t *testing.T) {
	var j control.Journal
	for i := range control.JournalMax + 5 {
		j.Add(control.Request{Path: strconv.Itoa(i)})
	}
	got := j.Entries()
	if len(got) != control.JournalMax || got[0].Path != "5" || got[len(got)-1].Path != strconv.Itoa(control.JournalMax+4) {
		t.Fatalf("%d entries, from %s to %s", len(got), got[0].Path, got[len(got)-1].Path)
	}
	for i := 1; i < len(got); i++ {
		a, _ := strconv.Atoi(got[i-1].Path)
		b, _ := strconv.Atoi(got[i].Path)
		if b != a+1 {
			t.Fatalf("entry %d is %d after %d", i, b, a)
		}
	}
	j.Clear()
	if len(j.Entries()) != 0 {
		t.Error("a cleared journal is not empty")
	}
}
