package server_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/server"
)

// TestLists_CostFollowsThePage: a page of SIMs or endpoints sorted by id
// (the default, either way) allocates about the same in a workspace ten
// times the size: it reads the page, not the workspace.
func TestLists_CostFollowsThePage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds large fleets")
	}
	type costs struct{ alloc, body uint64 }
	cost := func(sims int) (map[string]costs, int) {
		churn, err := generator.NewChurn(1, generator.ChurnOptions{Workspaces: 1, SIMs: sims})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Options{World: plan.Over(churn.Platform()), AppTokens: []string{testToken}, Secret: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		req := httptest.NewRequest("POST", "/api/v1/authenticate", strings.NewReader(`{"application_token":"`+testToken+`"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var auth struct {
			Token string `json:"auth_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &auth); err != nil || auth.Token == "" {
			t.Fatalf("authenticate: %d %s", rec.Code, rec.Body)
		}
		token := auth.Token
		out := map[string]costs{}
		for _, path := range []string{"/api/v1/sim?per_page=10&page=3", "/api/v1/sim?per_page=10&sort=-id", "/api/v1/endpoint?per_page=10&page=2"} {
			var body uint64
			get := func() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				body = uint64(rec.Body.Len())
			}
			get() // warm: token checks are cached
			// The least of 20: a page's buffer comes from a pool, which
			// may drop it (it does so at random under -race).
			least := uint64(math.MaxUint64)
			for range 20 {
				var a, b runtime.MemStats
				runtime.ReadMemStats(&a)
				get()
				runtime.ReadMemStats(&b)
				least = min(least, b.TotalAlloc-a.TotalAlloc)
			}
			out[path] = costs{least, body}
		}
		return out, len(churn.Platform().Workspaces()[0].SIMs())
	}
	small, n1 := cost(300)
	large, n10 := cost(3_000)
	if n10 < 5*n1 {
		t.Fatalf("the fleets have %d and %d SIMs: not far enough apart", n1, n10)
	}
	for path, c := range large {
		// Beyond what a longer answer itself costs (its JSON, and the
		// buffers it grows through), a copy of the SIM list alone is 8
		// bytes a SIM (24 KB at 3,000); 8 KB of slack absorbs what the
		// race detector and the pools add at random.
		allowed := small[path].alloc + 8192 + 4*(max(c.body, small[path].body)-min(c.body, small[path].body))
		if c.alloc > allowed {
			t.Errorf("%s allocates %d bytes with %d SIMs, %d with %d (answers of %d and %d bytes): it grows with the workspace",
				path, c.alloc, n10, small[path].alloc, n1, c.body, small[path].body)
		}
	}
}
