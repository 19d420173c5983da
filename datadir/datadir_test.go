package datadir_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emnify-mock/emnify-mock/datadir"
)

func records(t *testing.T, d *datadir.Dir) []string {
	t.Helper()
	var out []string
	if err := d.Records(func(line []byte) error { out = append(out, string(line)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDir: lines appended by many writers come back whole, each wait
// returning once its line is synced; a second Open of a directory in use
// is refused; a torn last line (a crash in the middle of a write) is cut
// off at the next Open and the lines before it stay.
func TestDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	d, err := datadir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Open(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
	var wg sync.WaitGroup
	var synced sync.Map
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				line := []byte(strings.Repeat("x", w+1) + "-" + string(rune('a'+i%26)))
				wait, err := d.Append(line, func() { synced.Store(string(line), true) })
				if err != nil {
					t.Error(err)
					return
				}
				if err := wait(); err != nil {
					t.Error(err)
				}
				if _, ok := synced.Load(string(line)); !ok {
					t.Errorf("wait returned before the synced call of %s", line)
				}
			}
		}()
	}
	wg.Wait()
	if err := d.WriteMeta(map[string]int{"format": 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	f, _ := os.OpenFile(filepath.Join(path, "journal.ndjson"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"torn":`)
	f.Close()
	d, err = datadir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := records(t, d)
	if len(got) != 400 || d.Torn != int64(len(`{"torn":`)) {
		t.Fatalf("%d lines after a torn one was cut (%d bytes cut), want 400", len(got), d.Torn)
	}
	var meta map[string]int
	if found, err := d.ReadMeta(&meta); !found || err != nil || meta["format"] != 1 {
		t.Fatalf("meta %v %v %v", meta, found, err)
	}
}
