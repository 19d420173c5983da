package features_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/emnify-mock/emnify-mock/examples/consumer"
	"github.com/emnify-mock/emnify-mock/features"
	"github.com/emnify-mock/emnify-mock/streamer"
)

// The @perf features measure speed; they run only when asked for with
// -godog.tags=@perf.
var opts = godog.Options{Format: "pretty", Strict: true, Tags: "~@perf"}

func init() { godog.BindFlags("godog.", flag.CommandLine, &opts) }

// TestFeatures runs every shipped feature against the reference consumer
// on loopback: go test ./features -godog.format=progress -godog.tags=@x
func TestFeatures(t *testing.T) {
	o := opts
	o.TestingT, o.FS, o.Paths = t, features.Shipped, []string{"."}
	suite := godog.TestSuite{
		Name:                "emnify-mock",
		ScenarioInitializer: features.InitializeScenario(features.Options{Seed: 1, EndpointProbe: "/endpoints/{endpoint.id}", NewConsumer: func() http.Handler { return consumer.New(false) }}),
		Options:             &o,
	}
	if suite.Run() != 0 {
		t.Fatal("the features failed against the reference consumer")
	}
}

// TestFeatures_CatchTheNaiveConsumer proves the features can fail: the
// naive consumer (no dedupe, trusts arrival order, no back-off) must fail
// the duplicate, reordering and rate-limit features, with messages that
// say what was wrong.
func TestFeatures_CatchTheNaiveConsumer(t *testing.T) {
	var out bytes.Buffer
	suite := godog.TestSuite{
		Name:                "naive",
		ScenarioInitializer: features.InitializeScenario(features.Options{Seed: 1, EndpointProbe: "/endpoints/{endpoint.id}", NewConsumer: func() http.Handler { return consumer.New(true) }}),
		Options:             &godog.Options{Format: "pretty", NoColors: true, Strict: true, Tags: "~@perf", FS: features.Shipped, Paths: []string{"."}, Output: &out},
	}
	if suite.Run() == 0 {
		t.Fatal("the naive consumer passed every feature")
	}
	report := out.String()
	for _, want := range []string{
		"the consumer counted", // duplicates double-counted
		`the consumer shows status "Suspended", the platform's events say "Deleted"`, // a deleted SIM resurrected
		"as delivered (acknowledgement order)",                                       // the timeline in the message
		`HTTP 429 {"error_code":1105,"error_token":"TooManyRequests"`,                // gave up on a 429
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the failure report lacks %q:\n%s", want, report)
		}
	}
}

// TestFeatures_FixedMockAddress: with MockAddr every scenario's platform
// listens at that one address (one after the other), which is what the
// consumer is told to poll.
func TestFeatures_FixedMockAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var mu sync.Mutex
	polled := map[string]int{}
	newConsumer := func() http.Handler {
		c := consumer.New(false)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/admin/poll" {
				var body struct {
					API string `json:"api"`
				}
				b, _ := io.ReadAll(r.Body)
				json.Unmarshal(b, &body)
				mu.Lock()
				polled[body.API]++
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			c.ServeHTTP(w, r)
		})
	}
	suite := godog.TestSuite{
		Name:                "fixed-address",
		ScenarioInitializer: features.InitializeScenario(features.Options{Seed: 1, NewConsumer: newConsumer, MockAddr: addr}),
		Options:             &godog.Options{Format: "progress", Strict: true, FS: features.Shipped, Paths: []string{"polling.feature"}, Output: io.Discard},
	}
	if suite.Run() != 0 {
		t.Fatal("the polling features failed with a fixed mock address")
	}
	if want := "http://" + addr; len(polled) != 1 || polled[want] != 3 {
		t.Errorf("the consumer was told to poll %v, want %s three times", polled, want)
	}
}

// TestFeatures_IdsNeverRepeatAcrossScenarios: the scenarios of one run
// follow each other on the platform's time, so an event id names one event
// of one organisation across all of them, but for the two halves of a
// migration, which share an id (as on the platform).
func TestFeatures_IdsNeverRepeatAcrossScenarios(t *testing.T) {
	type key struct{ id, org int64 }
	var mu sync.Mutex
	seen := map[key]string{}          // the event's JSON: a resend is the same bytes
	orgs := map[int64]map[int64]int{} // id → organisations → event type
	var clash []string
	newConsumer := func() http.Handler {
		c := consumer.New(false)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/webhook" {
				b, _ := io.ReadAll(r.Body)
				var raw []json.RawMessage
				if json.Unmarshal(b, &raw) != nil {
					raw = []json.RawMessage{b}
				}
				mu.Lock()
				for _, e := range raw {
					var ev struct {
						ID   int64 `json:"id"`
						Type struct {
							ID int `json:"id"`
						} `json:"event_type"`
						Org struct {
							ID int64 `json:"id"`
						} `json:"organisation"`
					}
					json.Unmarshal(e, &ev)
					k := key{ev.ID, ev.Org.ID}
					if prev, ok := seen[k]; ok && prev != string(e) {
						clash = append(clash, fmt.Sprintf("id %d of organisation %d names two events:\n%s\n%s", ev.ID, ev.Org.ID, prev, e))
					}
					seen[k] = string(e)
					if orgs[ev.ID] == nil {
						orgs[ev.ID] = map[int64]int{}
					}
					orgs[ev.ID][ev.Org.ID] = ev.Type.ID
				}
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			c.ServeHTTP(w, r)
		})
	}
	suite := godog.TestSuite{
		Name:                "ids",
		ScenarioInitializer: features.InitializeScenario(features.Options{Seed: 1, NewConsumer: newConsumer}),
		Options:             &godog.Options{Format: "progress", Strict: true, Tags: "~@perf", FS: features.Shipped, Paths: []string{"duplicates.feature", "migration.feature", "reordering.feature"}, Output: io.Discard},
	}
	if suite.Run() != 0 {
		t.Fatal("the features failed")
	}
	if len(seen) < 50 {
		t.Fatalf("only %d events reached the consumer", len(seen))
	}
	for _, c := range clash[:min(len(clash), 3)] {
		t.Error(c)
	}
	for id, o := range orgs {
		for _, typ := range o {
			if len(o) > 1 && typ != 69 {
				t.Errorf("event id %d is shared by %d organisations, and is no migration (type %d)", id, len(o), typ)
			}
		}
	}
}

// TestFeatures_CatchTheConsumerKeyedByID: a consumer that dedupes by
// event id alone drops the second half of a migration (same id, other
// workspace), and the migration feature says which SIM it got wrong.
func TestFeatures_CatchTheConsumerKeyedByID(t *testing.T) {
	var out bytes.Buffer
	suite := godog.TestSuite{
		Name:                "keyed by id",
		ScenarioInitializer: features.InitializeScenario(features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.NewKeyedByID() }}),
		Options:             &godog.Options{Format: "pretty", NoColors: true, Strict: true, FS: features.Shipped, Paths: []string{"migration.feature"}, Output: &out},
	}
	if suite.Run() == 0 {
		t.Fatal("a consumer keyed by event id alone passed the migration feature")
	}
	if report := out.String(); !regexp.MustCompile(`SIM \d+: the consumer shows workspace "\d+", the platform's events say "\d+"`).MatchString(report) {
		t.Errorf("the report does not name the SIM in the wrong workspace:\n%s", report)
	}
}

// TestFeatures_PythonConsumer runs the shipped features against the
// Python example (examples/python-consumer, standard library only) with
// the system python3.
func TestFeatures_PythonConsumer(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed (.ci/run installs it): the Python consumer was not tried")
	}
	cmd := exec.Command(python, filepath.Join("..", "examples", "python-consumer", "consumer.py"), "--port", "0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("the Python consumer said %q: %v", line, err)
	}
	o := opts
	o.TestingT, o.FS, o.Paths = t, features.Shipped, []string{"."}
	suite := godog.TestSuite{
		Name:                "python",
		ScenarioInitializer: features.InitializeScenario(features.Options{Consumer: url, EndpointProbe: "/endpoints/{endpoint.id}"}),
		Options:             &o,
	}
	if suite.Run() != 0 {
		t.Fatal("the features failed against the Python consumer")
	}
}

// runFeature runs one feature file against a consumer, and
// returns whether it passed and its report.
func runFeature(t *testing.T, path string, o features.Options) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	suite := godog.TestSuite{
		Name:                path,
		ScenarioInitializer: features.InitializeScenario(o),
		Options:             &godog.Options{Format: "pretty", NoColors: true, Strict: true, Paths: []string{path}, Output: &out, FS: featureFS(path)},
	}
	return suite.Run() == 0, out.String()
}

// TestSteps_API: a scenario inline in the feature, a SIM changed through
// the API (its event joins what the consumer must show), and the API
// journal read by the steps; a check of the journal fails when the
// request is not there.
func TestSteps_API(t *testing.T) {
	ok, report := runFeature(t, "testdata/api.feature", features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(false) }})
	if !ok {
		t.Fatalf("the API steps failed against the reference consumer:\n%s", report)
	}
	// A consumer that never polls: the journal has no GET of the events.
	lazy := func() http.Handler {
		c := consumer.New(false)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/admin/poll" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			c.ServeHTTP(w, r)
		})
	}
	ok, report = runFeature(t, "testdata/api.feature", features.Options{Seed: 1, NewConsumer: lazy})
	if ok || !strings.Contains(report, `the platform's API journal has no GET /api/v1/event`) {
		t.Errorf("a consumer that never polled passed, or the report does not say so:\n%s", report)
	}
}

// TestSteps_Signatures: a consumer that checks Standard Webhooks
// signatures passes the forged-signature steps; one that does not check
// fails them, with the count.
func TestSteps_Signatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, _ := streamer.NewSigner(secret)
	checking := func() http.Handler {
		c := consumer.New(false)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			sec, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
			at := time.Unix(sec, 0)
			if time.Since(at).Abs() > 5*time.Minute || r.Header.Get("webhook-signature") != signer.Sign(r.Header.Get("webhook-id"), at, body) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			c.ServeHTTP(w, r)
		})
	}
	if ok, report := runFeature(t, "testdata/signatures.feature", features.Options{Seed: 1, SignSecret: secret, NewConsumer: checking}); !ok {
		t.Fatalf("a consumer that checks signatures failed:\n%s", report)
	}
	ok, report := runFeature(t, "testdata/signatures.feature", features.Options{Seed: 1, SignSecret: secret, NewConsumer: func() http.Handler { return consumer.New(false) }})
	if ok || !regexp.MustCompile(`the consumer acknowledged \d+ deliveries whose signature it should have refused`).MatchString(report) {
		t.Errorf("a consumer that checks no signature passed, or the report does not say so:\n%s", report)
	}
}

// TestSteps_Outage: a data stream and a push outlast the webhook's outage
// and deliver what queued; the check that the outage happened fails when
// it did not (the consumer was never down).
func TestSteps_Outage(t *testing.T) {
	reference := features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(false) }}
	if ok, report := runFeature(t, "testdata/outage.feature", reference); !ok {
		t.Fatalf("the outage steps failed against the reference consumer:\n%s", report)
	}
	none := filepath.Join(t.TempDir(), "none.feature")
	os.WriteFile(none, []byte("Feature: no outage\n  Scenario: down for no time\n    Given the platform runs the scenario \"onboarding\"\n"+
		"    And the consumer's webhook is down for 0s\n    When the events are pushed to the consumer\n    Then deliveries were refused while the webhook was down\n"), 0o644)
	if ok, report := runFeature(t, none, reference); ok || !strings.Contains(report, "no delivery came while the webhook was down") {
		t.Errorf("an outage that did not happen passed, or the report does not say so:\n%s", report)
	}
}

// TestSteps_Table: a workspace from a Gherkin table reaches each row's
// status through the platform's actions, and the consumer follows.
func TestSteps_Table(t *testing.T) {
	if ok, report := runFeature(t, "testdata/table.feature", features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(false) }}); !ok {
		t.Fatalf("the table steps failed against the reference consumer:\n%s", report)
	}
	bad := filepath.Join(t.TempDir(), "bad.feature")
	os.WriteFile(bad, []byte("Feature: f\n  Scenario: s\n    Given the platform has a workspace with these SIMs:\n      | status  |\n      | Retired |\n"), 0o644)
	if ok, report := runFeature(t, bad, features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(false) }}); ok || !strings.Contains(report, `row 1: status "Retired": one of Issued, Activated, Suspended, Factory Test, Deleted`) {
		t.Errorf("an unknown status passed, or the report does not say so:\n%s", report)
	}
}

// TestSteps_Endpoints: endpoints are compared like SIMs (name, status,
// the SIM they hold): a consumer that shows a disabled device as enabled
// fails with the endpoint named and its events; without an endpoint
// probe the check is skipped, not passed.
func TestSteps_Endpoints(t *testing.T) {
	wrong := func() http.Handler {
		c := consumer.New(false)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/endpoints/") {
				c.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, r)
			w.WriteHeader(rec.Code)
			w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"Disabled"`), []byte(`"Enabled"`)))
		})
	}
	ok, report := runFeature(t, "reordering.feature", features.Options{Seed: 1, EndpointProbe: "/endpoints/{endpoint.id}", NewConsumer: wrong})
	if ok || !regexp.MustCompile(`endpoint \d+: the consumer shows status "Enabled", the platform's events say "Disabled"\s+the platform's events for this endpoint, in order:`).MatchString(report) {
		t.Errorf("a consumer showing disabled devices as enabled passed, or the report does not say so:\n%s", report)
	}
	var notes bytes.Buffer
	if ok, report := runFeature(t, "reordering.feature", features.Options{Seed: 1, Notes: &notes, NewConsumer: wrong}); !ok || !strings.Contains(notes.String(), "skipped: the consumer shows no endpoints") {
		t.Errorf("without an endpoint probe: passed %v, notes %q\n%s", ok, notes.String(), report)
	}
}

// featureFS reads a path of testdata or a temporary file from disk, and a
// bare name from the shipped features.
func featureFS(path string) fs.FS {
	if strings.Contains(path, "/") {
		return nil
	}
	return features.Shipped
}

// TestSteps_EventsOfAFile: events from a file (here made by generate)
// stand for the platform: pushed, and the consumer's view checked.
func TestSteps_EventsOfAFile(t *testing.T) {
	if ok, report := runFeature(t, "testdata/file.feature", features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(false) }}); !ok {
		t.Fatalf("the events of a file failed against the reference consumer:\n%s", report)
	}
	if ok, report := runFeature(t, "testdata/file.feature", features.Options{Seed: 1, NewConsumer: func() http.Handler { return consumer.New(true) }}); ok {
		t.Errorf("the naive consumer passed duplicated events of a file:\n%s", report)
	}
}
