package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dashboard is a page a browser app on another origin would be: it logs
// in, lists endpoints and reads X-Total-Count, which only CORS lets it
// do, then reports what it saw to the page's own server.
const dashboard = `<!doctype html><html><body><script>
(async () => {
  let out;
  try {
    const login = await fetch(%[1]q + "/api/v1/authenticate", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({application_token: %[2]q})});
    const {auth_token} = await login.json();
    const res = await fetch(%[1]q + "/api/v1/endpoint?per_page=5", {headers: {Authorization: "Bearer " + auth_token}});
    const list = await res.json();
    out = "status=" + res.status + " total=" + res.headers.get("X-Total-Count") + " listed=" + list.length;
  } catch (e) {
    out = "error=" + e;
  }
  await fetch("/result", {method: "POST", body: out});
})();
</script></body></html>`

// TestBrowser_CrossOrigin: a page served from another origin, in headless
// Chromium, logs in to the mock, lists endpoints and reads X-Total-Count.
// .ci/run installs Debian's chromium; without it the test is skipped.
func TestBrowser_CrossOrigin(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (.ci/run installs Debian's chromium)")
	}
	m := mustOpen(t)
	result := make(chan string, 1)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/result":
			b, _ := io.ReadAll(r.Body)
			select {
			case result <- string(b):
			default:
			}
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, dashboard, m.http.URL, testToken)
		default:
			http.NotFound(w, r)
		}
	}))
	defer page.Close()
	if page.URL == m.http.URL {
		t.Fatal("the page and the mock share an origin")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The flags a headless Chromium needs on this kind of machine: no
	// sandbox as root, no network of its own beyond loopback.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		page.URL+"/")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }() // Chromium runs until killed
	select {
	case got := <-result:
		total := len(m.acme().Endpoints())
		if want := fmt.Sprintf("status=200 total=%d listed=5", total); got != want {
			t.Errorf("the page saw %q, want %q", got, want)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the page reported nothing in 90 s; chromium said:\n%s", stderr.String())
	}
}
