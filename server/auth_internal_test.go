package server

import (
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

// TestVerify_CacheIsBounded: a client that logs in for every request does
// not grow the verified-token cache past maxVerified; expired tokens make
// room.
func TestVerify_CacheIsBounded(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := generator.NewVirtual(t0)
	w := plan.NewWorldOn(clock, 1)
	if _, err := w.Platform.NewWorkspace(generator.WorkspaceSpec{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{World: w})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxVerified + 100 {
		tok := s.sign(claims{Aud: authAudience, Org: 1, Iat: int64(i), Exp: t0.Add(time.Hour).Unix()})
		if _, apiErr := s.verify(tok); apiErr != nil {
			t.Fatal(apiErr)
		}
	}
	if n := s.cached.Load(); n != maxVerified {
		t.Fatalf("%d tokens cached, want the bound %d", n, maxVerified)
	}
	clock.Advance(2 * time.Hour)
	if _, apiErr := s.verify(s.sign(claims{Aud: authAudience, Org: 1, Exp: t0.Add(3 * time.Hour).Unix()})); apiErr != nil {
		t.Fatal(apiErr)
	}
	if n := s.cached.Load(); n != 1 {
		t.Errorf("%d tokens cached after the others expired, want 1", n)
	}
}
