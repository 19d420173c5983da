package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/scenarios"
)

// FuzzParse: no input makes the parser panic or hang, and every refusal is
// an *Error that names the file.
// Run: go test -fuzz FuzzParse ./scenarios
func FuzzParse(f *testing.F) {
	for _, name := range scenarios.Names() {
		src, _ := scenarios.Builtin(name)
		f.Add(src)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("a: &a [*a, *a]\nsteps: *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		sc, err := scenarios.Parse("fuzz.yaml", src)
		if err != nil {
			var se *scenarios.Error
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("refusal %q (%T) does not name its place", err, err)
			}
			return
		}
		if sc.Plan == nil || sc.Name == "" {
			t.Fatal("accepted a scenario without plan or name")
		}
	})
}
