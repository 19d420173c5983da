package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/examples/consumer"
	"github.com/emnify-mock/emnify-mock/scenarios"
)

// The README's curl walkthroughs (every sh block that uses $B, the
// server's URL) run for real with bash, curl and jq against a started
// serve, in README order, its placeholders (SIM_ID, SP_ID, TP_ID, EP_ID,
// a stream's ID, "...") replaced by ids of that serve, and every curl made
// to fail on an HTTP error: a renamed route or field fails the test.

// walkthroughScript is the README's $B blocks as one bash script.
func walkthroughScript(readme string, subst func(line string) string) string {
	var script strings.Builder
	var block []string
	inSh := false
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh, block = true, nil
		case strings.HasPrefix(line, "```") && inSh:
			inSh = false
			if text := strings.Join(block, "\n"); strings.Contains(text, "$B") {
				script.WriteString(text + "\n")
			}
		case inSh && !commandStart.MatchString(line): // serve itself is started by the test
			block = append(block, subst(line))
		}
	}
	return script.String()
}

func TestREADME_Walkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it): the README walkthrough did not run", tool)
		}
	}
	srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--seed", "7", "--app-token", "my-token")
	hook := httptest.NewServer(consumer.New(false))
	defer hook.Close()
	ids := walkthroughIDs(t, srv.URL())
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := walkthroughScript(string(readme), func(line string) string {
		sim := ids["ACTIVE_SIM"]
		if strings.Contains(line, `"sim":{"id":SIM_ID}`) {
			sim = ids["FREE_SIM"] // a new endpoint takes a SIM without one
		}
		return strings.NewReplacer(
			"http://127.0.0.1:8080", srv.URL(), "http://127.0.0.1:9000", hook.URL,
			"curl -s ", "curl -sS --fail-with-body ", "curl -si ", "curl -sSi --fail-with-body ", "curl -X ", "curl -sS --fail-with-body -X ",
			"SIM_ID", sim, "SP_ID", ids["SP_ID"], "TP_ID", ids["TP_ID"], "EP_ID", ids["EP_ID"],
			"/data_stream/ID", "/data_stream/1001", "/deliveries/ID", "/deliveries/1001", "...; ", "",
		).Replace(line)
	})
	if n := strings.Count(script, "curl "); n < 15 {
		t.Fatalf("found %d curl commands in the README's $B blocks; the extraction is broken:\n%s", n, script)
	}
	if out, err := runWalkthrough(t, script); err != nil {
		t.Fatalf("the README walkthrough failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
	}
	// Made, paused, restarted.
	if d := srv.Deliveries(); len(d) != 1 || d[0].Status != "Running" || d[0].URL != hook.URL+"/webhook" {
		t.Errorf("the walkthrough's data stream: %+v", d)
	}
}

// runWalkthrough runs the script with bash in a scratch folder that holds
// the reader's my-scenario.yaml.
func runWalkthrough(t *testing.T, script string) ([]byte, error) {
	dir := t.TempDir()
	src, _ := scenarios.Builtin("suspend-resume")
	os.WriteFile(filepath.Join(dir, "my-scenario.yaml"), src, 0o644)
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// TestREADME_BrokenWalkthroughFails: a walkthrough with a renamed route,
// or a field the API refuses, fails.
func TestREADME_BrokenWalkthroughFails(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--app-token", "my-token")
	login := "B=http://127.0.0.1:8080\nTOKEN=$(curl -s -X POST $B/api/v1/authenticate -d '{\"application_token\":\"my-token\"}' | jq -r .auth_token)\nH=\"Authorization: Bearer $TOKEN\"\n"
	for _, broken := range []string{
		login + "curl -s -H \"$H\" \"$B/api/v1/sims\" | jq .\n",
		login + "curl -s -H \"$H\" -X PATCH \"$B/api/v1/sim/1\" -d '{\"colour\":\"red\"}'\n",
		"curl -s $B/mock/workspace | jq .\nB=http://127.0.0.1:8080\n",
	} {
		script := walkthroughScript("```sh\n"+broken+"```\n", func(line string) string {
			return strings.NewReplacer("http://127.0.0.1:8080", srv.URL(), "curl -s ", "curl -sS --fail-with-body ").Replace(line)
		})
		if out, err := runWalkthrough(t, script); err == nil {
			t.Errorf("passed:\n%s\n%s", script, out)
		}
	}
}

// walkthroughIDs finds, through the API, what the README's placeholders
// stand for on a fresh serve.
func walkthroughIDs(t *testing.T, base string) map[string]string {
	t.Helper()
	token := loginApp(t, base, "my-token")
	get := func(path string, v any) {
		t.Helper()
		if err := json.Unmarshal(getBody(t, base+path, token), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var sims []struct {
		ID       int64
		Status   struct{ ID int }
		Endpoint *struct{ ID int64 }
	}
	get("/api/v1/sim?per_page=1000", &sims)
	var endpoints []struct{ ID int64 }
	get("/api/v1/endpoint?per_page=1", &endpoints)
	var sp, tp []struct{ ID int64 }
	get("/api/v1/service_profile", &sp)
	get("/api/v1/tariff_profile", &tp)
	ids := map[string]string{}
	for _, s := range sims {
		if s.Status.ID == 1 && ids["ACTIVE_SIM"] == "" {
			ids["ACTIVE_SIM"] = fmt.Sprint(s.ID)
		}
		if s.Endpoint == nil && ids["FREE_SIM"] == "" {
			ids["FREE_SIM"] = fmt.Sprint(s.ID)
		}
	}
	if len(endpoints) == 0 || len(sp) == 0 || len(tp) == 0 || ids["ACTIVE_SIM"] == "" || ids["FREE_SIM"] == "" {
		t.Fatalf("the default world lacks what the walkthrough needs: %v, %d endpoints, %d/%d profiles", ids, len(endpoints), len(sp), len(tp))
	}
	ids["EP_ID"], ids["SP_ID"], ids["TP_ID"] = fmt.Sprint(endpoints[0].ID), fmt.Sprint(sp[0].ID), fmt.Sprint(tp[0].ID)
	return ids
}

// TestREADME_DeliveryCommandsRun: the README's push and load commands,
// and generate from a running serve or into a file, run for real in
// README order, in a scratch folder, against the reference consumer and a
// started serve; load's durations are cut to a second and its rates
// capped at 2,000/s, so that the run takes seconds. A command whose
// comment says "exit N" must exit N. replay and push --resume need a run
// that failed first: TestREADME_CommandsRun checks their flags.
func TestREADME_DeliveryCommandsRun(t *testing.T) {
	srv, _ := startServe(t, "--addr", "127.0.0.1:0")
	hook := httptest.NewServer(consumer.New(false))
	defer hook.Close()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeCommands(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	ran := map[string]int{}
	for _, c := range cmds {
		args := deliveryArgs(c, srv.URL(), hook.URL)
		if args == nil {
			continue
		}
		want := 0
		if i := strings.Index(c.comment, "exit "); i >= 0 {
			fmt.Sscan(c.comment[i+5:], &want)
		}
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != want {
			t.Errorf("README line %d: emnify-mock %s: exit %d, want %d: %s", c.line, strings.Join(args, " "), code, want, stderr.String())
			continue
		}
		if c.redirect != "" {
			os.WriteFile(c.redirect, []byte(stdout.String()), 0o644)
		}
		ran[args[0]]++
	}
	if ran["push"] < 3 || ran["load"] < 5 || ran["generate"] < 2 {
		t.Errorf("ran %v: the README lost its delivery commands, or the extraction broke", ran)
	}
}

// deliveryArgs is a README command made to run here, or nil when it is
// not one of the delivery commands.
func deliveryArgs(c readmeCommand, serveURL, hookURL string) []string {
	args := slices.Clone(c.args)
	from := slices.Index(args, "--from")
	switch {
	case args[0] == "push" && !slices.Contains(args, "--resume"):
	case args[0] == "load":
	case args[0] == "generate" && (c.redirect != "" && c.redirect != "/dev/null" || from >= 0 && strings.HasPrefix(args[from+1], "http")):
	default:
		return nil
	}
	capRate := func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 2000 {
			return v
		}
		return "2000"
	}
	hasDuration := false
	for i := 0; i < len(args); i++ {
		a := strings.NewReplacer("http://127.0.0.1:9000", hookURL, "http://127.0.0.1:8080", serveURL).Replace(args[i])
		if i > 0 {
			switch args[i-1] {
			case "--duration":
				a, hasDuration = "1s", true
			case "--rate":
				a = capRate(a)
			case "--ramp":
				lo, hi, _ := strings.Cut(a, ":")
				a = capRate(lo) + ":" + capRate(hi)
			case "--steps":
				steps := strings.Split(a, ",")
				for j, st := range steps {
					rate, _, _ := strings.Cut(st, "@")
					steps[j] = capRate(rate) + "@300ms"
				}
				a = strings.Join(steps, ",")
			}
		}
		args[i] = a
	}
	if args[0] == "load" && !hasDuration && !slices.Contains(args, "--steps") {
		args = append(args, "--duration", "1s")
	}
	return args
}

// loginApp logs in to a serve with an application token.
func loginApp(t *testing.T, base, appToken string) string {
	t.Helper()
	res, err := http.Post(base+"/api/v1/authenticate", "application/json", strings.NewReader(`{"application_token":"`+appToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.NewDecoder(res.Body).Decode(&auth)
	if auth.Token == "" {
		t.Fatalf("authenticate with %q: HTTP %d", appToken, res.StatusCode)
	}
	return auth.Token
}
