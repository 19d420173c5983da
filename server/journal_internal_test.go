package server

import (
	"strconv"
	"testing"
)

// TestJournal_KeepsTheNewest: past journalMax the oldest entries go, and
// the rest come out oldest first.
func TestJournal_KeepsTheNewest(t *testing.T) {
	var j journal
	for i := range journalMax + 5 {
		j.add(journalEntry{Path: strconv.Itoa(i)})
	}
	got := j.snapshot()
	if len(got) != journalMax || got[0].Path != "5" || got[len(got)-1].Path != strconv.Itoa(journalMax+4) {
		t.Fatalf("%d entries, from %s to %s", len(got), got[0].Path, got[len(got)-1].Path)
	}
	for i := 1; i < len(got); i++ {
		a, _ := strconv.Atoi(got[i-1].Path)
		b, _ := strconv.Atoi(got[i].Path)
		if b != a+1 {
			t.Fatalf("entry %d is %d after %d", i, b, a)
		}
	}
	j.clear()
	if len(j.snapshot()) != 0 {
		t.Error("a cleared journal is not empty")
	}
}
