package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/fixtures"
)

// FuzzCheck: whatever the input, check neither panics nor misreports: it
// ends without error only when it read at least one event and all
// conformed, and a JSON error names a line and column that exist.
func FuzzCheck(f *testing.F) {
	for _, ex := range fixtures.DocsExamples() {
		f.Add(ex.JSON)
	}
	f.Add([]byte("[" + string(fixtures.DocsExamples()[0].JSON) + "," + string(fixtures.DocsExamples()[1].JSON) + "]"))
	f.Add([]byte("[1,2"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out, errOut bytes.Buffer
		c := &CheckCommand{Stdout: &out, Stderr: &errOut, Stdin: bytes.NewReader(in)}
		err := c.Run(context.Background(), nil)
		var ie *inputError
		switch {
		case err == nil:
			if !strings.Contains(out.String(), " events checked, ") || strings.Contains(out.String(), "do not") {
				t.Fatalf("no error, but: %s", out.String())
			}
		case errors.As(err, &ie):
			if strings.Contains(ie.msg, "not JSON") && !strings.HasPrefix(ie.msg, "stdin:") {
				t.Fatalf("JSON error without a place: %s", ie.msg)
			}
		case !strings.Contains(err.Error(), "do not conform"):
			t.Fatalf("unexpected error: %v", err)
		}
		io.Copy(io.Discard, &errOut)
	})
}
