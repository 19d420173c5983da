// Package features is emnify-mock's Gherkin harness: a godog step library
// that runs the mock emnify platform in-process (or drives a running serve,
// Options.Platform), delivers its events to a
// consumer (pushed as the Data Streamer does, with faults, or polled), and
// checks what the consumer made of them against the platform's own event
// log. The shipped features are embedded; `emnify-mock verify` and
// `go test ./features` run them.
package features

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"

	"github.com/emnify-mock/emnify-mock/emnifymock"
	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streams"
)

// Shipped are the features that come with emnify-mock.
//
//go:embed *.feature
var Shipped embed.FS

// Options say which consumer the steps check.
type Options struct {
	// Consumer is the base URL of the consumer under test. Its contract:
	// POST /webhook takes emnify events; GET on the probe returns a SIM's
	// {"status", "workspace"}; GET /stats returns {"events": n};
	// POST /admin/poll {"api", "application_token"} makes it catch up.
	Consumer string
	// Probe is the path of a SIM in the consumer, with {sim.iccid};
	// default "/sims/{sim.iccid}".
	Probe string
	// EndpointProbe is the path of an endpoint in the consumer, with
	// {endpoint.id}: JSON with "name", "status" (Enabled, Disabled) and
	// "sim" (the ICCID it holds, or null). Empty: the consumer shows no
	// endpoints, and their checks are skipped with a note.
	EndpointProbe string
	// NewConsumer, when Consumer is empty, makes a consumer to run
	// in-process for each scenario (the reference one in go test).
	NewConsumer func() http.Handler
	// Seed seeds each scenario's platform; 0 draws a new seed per
	// scenario, so that scenarios run against one long-lived consumer
	// never share a SIM.
	Seed uint64
	// MockAddr, when set, is where each scenario's platform listens
	// (HOST:PORT, one scenario at a time), so that a consumer configured
	// with that API URL and AppToken can poll it on its own. Default: a
	// new loopback port per scenario.
	MockAddr string
	// Platform, when set, is the URL of a running emnify-mock serve to run
	// every scenario on instead of an in-process platform, through its
	// control API (ControlToken, when it needs one); each scenario runs
	// isolated, in workspaces of its own.
	Platform, ControlToken string
	// StreamWebhook is the consumer's webhook as the platform reaches it,
	// for data streams; default Consumer + "/webhook".
	StreamWebhook string
	// PollAPI is the platform as the consumer reaches it, for its polls;
	// default Platform.
	PollAPI string
	// Notes, when set, is told why a step was skipped.
	Notes io.Writer

	// The rest of the consumer's contract. Webhook is where events go: a
	// path of Consumer (default /webhook) or a full URL.
	Webhook string
	// WebhookHeaders go with every delivery ("Name: value"), pushed or
	// streamed: for a consumer that checks a token.
	WebhookHeaders []string
	// SignSecret (whsec_...) signs pushed deliveries with Standard
	// Webhooks headers (emnify's own data streams do not sign).
	SignSecret string
	// Stats is the path of the consumer's event count (default /stats);
	// NoStats: it has none, and the steps that need a count are skipped.
	Stats   string
	NoStats bool
	// PollTrigger is the path or URL that makes the consumer catch up by
	// polling (default /admin/poll); NoPollTrigger: it polls on its own
	// schedule (configured with the platform's URL and AppToken, see
	// MockAddr), and the checks after the poll step wait for its view.
	PollTrigger   string
	NoPollTrigger bool
}

// url is a path of the consumer, or a full URL as it is.
func (w *world) url(pathOrURL, def string) string {
	switch {
	case pathOrURL == "":
		return w.consumer + def
	case strings.HasPrefix(pathOrURL, "http://") || strings.HasPrefix(pathOrURL, "https://"):
		return pathOrURL
	}
	return w.consumer + "/" + strings.TrimPrefix(pathOrURL, "/")
}

// Check says what is wrong with the options, before any scenario runs.
func (o Options) Check() error {
	if _, err := streamer.ParseHeaders(o.WebhookHeaders); err != nil {
		return fmt.Errorf("webhook headers: %w", err)
	}
	if o.SignSecret != "" {
		if _, err := streamer.NewSigner(o.SignSecret); err != nil {
			return err
		}
	}
	return nil
}

// AppToken is the application token every scenario's platform accepts.
const AppToken = "features-app-token"

// world is one Gherkin scenario's state.
type world struct {
	opts     Options
	consumer string
	mockURL  string            // the platform's API, once a scenario has run
	appToken string            // an application token of the scenario's workspace there
	control  *remote           // the platform's control API
	logEnd   int               // the log position after the scenario's events
	orgs     map[int64]bool    // on a shared platform: the scenario's workspaces
	gate     *gate             // the webhook's outage, when the scenario stages one
	fromFile bool              // the events came from a file, with no platform behind them
	events   []generator.Event // the platform's log, in order: the ground truth
	delivery streamer.Options
	mu       sync.Mutex
	acked    []streamer.Outcome // in the order acknowledged
	stats    streamer.Stats
	seed     uint64
	history  *timeline // where the scenarios of this run have got to
	limits   bool      // the platform enforces emnify's rate limits
	every429 int       // every n-th read of the event list is answered 429
	counted  int       // the consumer's event count when the scenario began
	slowest  time.Duration
	closers  []func()
}

type worldKey struct{}

func get(ctx context.Context) *world { return ctx.Value(worldKey{}).(*world) }

// InitializeScenario registers the steps; each scenario gets its own
// platform (and in-process consumer), so scenarios may run concurrently.
func InitializeScenario(o Options) func(*godog.ScenarioContext) {
	if o.Probe == "" {
		o.Probe = "/sims/{sim.iccid}"
	}
	history := &timeline{}
	return func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
			w := &world{opts: o, history: history, consumer: strings.TrimSuffix(o.Consumer, "/"), delivery: streamer.Options{Size: 1, Workers: 1, Retry: streamer.Policy{Attempts: 5, Initial: time.Millisecond, Max: 10 * time.Millisecond}}}
			if w.consumer == "" {
				if o.NewConsumer == nil {
					return ctx, errors.New("no consumer: give Options.Consumer or Options.NewConsumer")
				}
				ts := httptest.NewServer(o.NewConsumer())
				w.consumer = ts.URL
				w.closers = append(w.closers, ts.Close)
			}
			w.seed = o.Seed
			if w.seed == 0 {
				var b [8]byte
				rand.Read(b[:])
				w.seed = binary.LittleEndian.Uint64(b[:])
			}
			// A long-lived consumer has counted earlier scenarios' events.
			if n, err := w.getJSON(w.statsPath(), "events"); err == nil && !o.NoStats {
				w.counted, _ = strconv.Atoi(n)
			}
			return context.WithValue(ctx, worldKey{}, w), nil
		})
		sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
			w := get(ctx)
			for _, c := range slices.Backward(w.closers) {
				c()
			}
			return ctx, nil
		})
		for _, s := range Steps {
			sc.Step(s.Pattern, s.Func)
		}
	}
}

// Step is one step of the library, with an example for --list-steps.
type Step struct {
	Pattern string
	Example string
	Func    any
}

// Steps is the step library.
var Steps = []Step{
	{`^the platform enforces emnify's rate limits$`, `Given the platform enforces emnify's rate limits`, rateLimits},
	{`^every (\d+)(?:st|nd|rd|th) read of the event list is answered 429$`, `And every 3rd read of the event list is answered 429`, throttleReads},
	{`^the platform runs the scenario "([^"]*)"$`, `Given the platform runs the scenario "factory-test-activation"`, platformRuns},
	{`^the platform runs this scenario:$`, "Given the platform runs this scenario:\n      \"\"\"yaml\n      name: one-suspension\n      ...\n      \"\"\"", platformRunsThis},
	{`^the platform has a workspace with these SIMs:$`, "Given the platform has a workspace with these SIMs:\n      | status    | device    | tags  |\n      | Activated | Tracker 1 | fleet |\n      | Suspended |           |       |", workspaceFromTable},
	{`^the platform emitted the events in "([^"]*)"$`, `Given the platform emitted the events in "captured.ndjson"`, eventsOfFile},
	{`^the platform runs (\d+) events of the fleet churn$`, `Given the platform runs 2000 events of the fleet churn`, platformChurns},
	{`^deliveries send (\d+) events? per request$`, `And deliveries send 10 events per request`, deliverySize},
	{`^deliveries use (\d+) connections?$`, `And deliveries use 32 connections`, connections},
	{`^(\d+)% of deliveries are sent twice$`, `And 30% of deliveries are sent twice`, duplicates},
	{`^deliveries are reordered in windows of (\d+)$`, `And deliveries are reordered in windows of 8`, reordered},
	{`^(\d+)% of first delivery attempts fail$`, `And 20% of first delivery attempts fail`, failures},
	{`^the delivery faults are seeded with (\d+)$`, `And the delivery faults are seeded with 7`, faultSeed},
	{`^the events are pushed to the consumer$`, `When the events are pushed to the consumer`, push},
	{`^the consumer's webhook is registered as a data stream with historic data$`, `When the consumer's webhook is registered as a data stream with historic data`, registerStream},
	{`^the consumer misses the webhooks$`, `When the consumer misses the webhooks`, missWebhooks},
	{`^the consumer catches up by polling the platform$`, `And the consumer catches up by polling the platform`, poll},
	{`^SIM "([^"]*)" is (activated|suspended) through the API$`, `When SIM "{sim.iccid}" is suspended through the API`, simChanged},
	{`^(\d+)% of deliveries carry a forged signature$`, `And 20% of deliveries carry a forged signature`, forged},
	{`^every forged signature was refused$`, `Then every forged signature was refused`, forgedRefused},
	{`^within (\d+)s the (?:app|consumer) sent (GET|POST|PUT|PATCH|DELETE) "([^"]*)"(?: with JSON where "([^"]*)" is "([^"]*)")?$`, `Then within 5s the app sent PATCH "/api/v1/sim/{sim.id}" with JSON where "status.id" is "2"`, sent},
	{`^the (?:app|consumer) made no request that was refused$`, `Then the app made no request that was refused`, noneRefused},
	{`^the consumer's webhook is down for (\d+)s$`, `And the consumer's webhook is down for 30s`, webhookDown},
	{`^deliveries were refused while the webhook was down$`, `Then deliveries were refused while the webhook was down`, refusedWhileDown},
	{`^every event was acknowledged with a 2xx$`, `Then every event was acknowledged with a 2xx`, allAcked},
	{`^every delivery took less than (\d+)ms$`, `Then every delivery took less than 250ms`, fastEnough},
	{`^the consumer took at least (\d+) events per second$`, `Then the consumer took at least 1000 events per second`, rateAtLeast},
	{`^within (\d+)s GET "([^"]*)" returns JSON where "([^"]*)" is "([^"]*)"$`, `Then within 5s GET "/sims/{sim.iccid}" returns JSON where "status" is "{sim.status}"`, jsonIs},
	{`^within (\d+)s the consumer's view of every SIM matches the platform$`, `Then within 5s the consumer's view of every SIM matches the platform`, viewMatches},
	{`^within (\d+)s the consumer's view of every endpoint matches the platform$`, `Then within 5s the consumer's view of every endpoint matches the platform`, endpointsMatch},
	{`^within (\d+)s the consumer counted every event exactly once$`, `Then within 5s the consumer counted every event exactly once`, countedOnce},
}

// platformRuns starts the mock platform in-process with the scenario's
// world and history (a built-in name or a file).
func platformRuns(ctx context.Context, name string) error {
	file, src, err := scenarios.Source(name)
	if err != nil {
		return err
	}
	return get(ctx).runScenario(file, src)
}

// platformRunsThis runs the scenario written in the feature, as YAML.
func platformRunsThis(ctx context.Context, doc *godog.DocString) error {
	return get(ctx).runScenario("the feature's scenario", []byte(doc.Content))
}

func (w *world) runScenario(file string, src []byte) error {
	if w.opts.Platform != "" {
		return newRemote(w.opts).run(w, src)
	}
	sc, err := scenarios.Parse(file, src)
	if err != nil {
		return err
	}
	start := w.history.startAt(sc.Plan.Start)
	// The platform's one clock: the wall clock, moved back to the
	// scenario's start, so its history is stamped from there on and the
	// server (tokens, rate limits) runs in real time after it.
	world := plan.NewWorldOn(generator.NewShifted(time.Until(start)), w.seed)
	var history []generator.Event
	sum, err := world.Run(sc.Plan, func(e generator.Event) error { history = append(history, e); return nil })
	if err != nil {
		return err
	}
	w.history.ended(sum.End)
	return w.startPlatform(world, history)
}

// timeline is where the scenarios of one run have got to on the platform's
// time. Each scenario starts after the one before it ended, as on a real
// platform, so event ids never repeat across scenarios (ids follow time),
// except the two halves of a migration, which share one: a consumer keys
// events by id and organisation.
type timeline struct {
	mu   sync.Mutex
	next time.Time
}

// startAt is when a scenario starts: its own start or the default, or
// after the previous scenario, whichever is later.
func (t *timeline) startAt(want time.Time) time.Time {
	if want.IsZero() {
		want = generator.DefaultStart
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if want.Before(t.next) {
		return t.next
	}
	return want
}

// ended notes where a scenario's events end.
func (t *timeline) ended(end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end.Add(time.Second).After(t.next) {
		t.next = end.Add(time.Second).Truncate(time.Second)
	}
}

func platformChurns(ctx context.Context, n int) error {
	if err := get(ctx).inProcessOnly("the platform runs N events of the fleet churn"); err != nil {
		return err
	}
	// The platform's one clock, as in platformRuns; it jumps to the
	// churn's last action once the history is made.
	start := get(ctx).history.startAt(time.Time{})
	clock := generator.NewShifted(time.Until(start))
	churn, err := generator.NewChurn(get(ctx).seed, generator.ChurnOptions{Workspaces: 1, Clock: clock, Start: start})
	if err != nil {
		return err
	}
	var history []generator.Event
	for range n {
		history = append(history, churn.Next())
	}
	if len(history) > 0 {
		get(ctx).history.ended(history[len(history)-1].Timestamp)
	}
	if err := clock.Advance(churn.Now().Sub(clock.Now())); err != nil {
		return err
	}
	return get(ctx).startPlatform(plan.Over(churn.Platform()), history)
}

// rateLimits makes the platform answer 429 past emnify's documented
// limits (GET /api/v1/event: 10/s, a burst of 5, per workspace).
func rateLimits(ctx context.Context) error {
	w := get(ctx)
	if err := w.inProcessOnly("the platform enforces emnify's rate limits"); err != nil {
		return err
	}
	if w.mockURL != "" {
		return errors.New(`say "the platform enforces emnify's rate limits" before the platform runs`)
	}
	w.limits = true
	return nil
}

// throttleReads makes every n-th GET /api/v1/event answer 429, as past a
// rate limit: the limits are per second of wall time, which a slow
// consumer on a loaded machine may never reach, so this is how a scenario
// makes sure the consumer meets them.
func throttleReads(ctx context.Context, n int) error {
	w := get(ctx)
	if err := w.inProcessOnly("every Nth read of the event list is answered 429"); err != nil {
		return err
	}
	if w.mockURL != "" {
		return errors.New(`say "every 3rd read of the event list is answered 429" before the platform runs`)
	}
	if n < 1 {
		return errors.New("every 0th read: give a count of 1 or more")
	}
	w.every429 = n
	return nil
}

func (w *world) startPlatform(world *plan.World, history []generator.Event) error {
	var throttle func(*http.Request) bool
	if n := int64(w.every429); n > 0 {
		var reads atomic.Int64
		throttle = func(r *http.Request) bool {
			return r.Method == http.MethodGet && r.URL.Path == "/api/v1/event" && reads.Add(1)%n == 0
		}
	}
	opts := []emnifymock.Option{emnifymock.World(world, history), emnifymock.AppToken(AppToken), emnifymock.Configure(func(o *server.Options) {
		o.RateLimits, o.Throttle = w.limits, throttle
		// Retries that last about a minute on the real clock, probing every
		// two seconds: a webhook's outage (webhookDown) is outlasted, and
		// a healthy consumer never waits.
		o.Streams = streams.Options{Retry: streamer.Policy{Attempts: 30, Initial: time.Millisecond, Max: 2 * time.Second}}
	})}
	if w.opts.MockAddr != "" {
		opts = append(opts, emnifymock.Addr(w.opts.MockAddr))
	}
	m, err := emnifymock.New(opts...)
	if err != nil {
		return fmt.Errorf("start the platform: %w", err)
	}
	w.closers = append(w.closers, m.Close)
	w.mockURL, w.appToken = m.URL, m.AppToken
	w.control = &remote{url: w.mockURL, client: http.DefaultClient}
	raw, next := m.Server.Log().Since(0)
	w.logEnd = next
	return w.setEvents(raw)
}

// setEvents makes the platform's events of the scenario the ground truth.
func (w *world) setEvents(raw [][]byte) error {
	w.events = nil
	for _, b := range raw {
		if err := w.addEvent(b); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) addEvent(b []byte) error {
	var e generator.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("an event of the platform: %w", err)
	}
	w.events = append(w.events, e)
	return nil
}

func deliverySize(ctx context.Context, n int) error { get(ctx).delivery.Size = n; return nil }
func connections(ctx context.Context, n int) error  { get(ctx).delivery.Workers = n; return nil }
func duplicates(ctx context.Context, p int) error {
	get(ctx).delivery.Faults.Duplicate = float64(p) / 100
	return nil
}
func reordered(ctx context.Context, n int) error {
	get(ctx).delivery.Faults.ReorderWindow = n
	return nil
}
func failures(ctx context.Context, p int) error {
	get(ctx).delivery.Faults.Drop = float64(p) / 100
	return nil
}
func faultSeed(ctx context.Context, n int) error { get(ctx).delivery.Seed = uint64(n); return nil }

// push delivers the platform's events to the consumer's webhook, as the
// Data Streamer does, with the faults set so far.
func push(ctx context.Context) error {
	w := get(ctx)
	if w.mockURL == "" && !w.fromFile {
		return errNoPlatform
	}
	o := w.delivery
	o.URL = w.webhook()
	o.Headers, _ = streamer.ParseHeaders(w.opts.WebhookHeaders) // checked by Options.Check
	if w.opts.SignSecret != "" {
		o.Signer, _ = streamer.NewSigner(w.opts.SignSecret)
	}
	if w.gate == nil { // back-off without waiting; an outage needs the real clock
		o.Clock = generator.NewInstant(time.Now())
	}
	s, err := streamer.New(o)
	if err != nil {
		return err
	}
	in := make(chan streamer.Item, len(w.events))
	for _, e := range w.events {
		in <- streamer.Item{ID: e.ID, JSON: e.JSON()}
	}
	close(in)
	for r := range s.Deliver(ctx, in) {
		w.mu.Lock()
		if r.Outcome != nil {
			w.acked = append(w.acked, *r.Outcome)
		} else {
			w.slowest = max(w.slowest, r.Attempt.Latency)
		}
		w.mu.Unlock()
	}
	w.stats = s.Stats()
	return nil
}

// registerStream registers the consumer's webhook through the platform's
// v2 data-stream API, as a team does in production; the platform's Data
// Streamer then delivers the history and everything after.
func registerStream(ctx context.Context) error {
	w := get(ctx)
	if w.mockURL == "" {
		return errNoPlatform
	}
	token, err := w.login()
	if err != nil {
		return err
	}
	hook := w.opts.StreamWebhook
	if hook == "" {
		hook = w.webhook()
	}
	headers, _ := json.Marshal(append([]string{}, w.opts.WebhookHeaders...))
	body := fmt.Sprintf(`{"name":"features","data_stream_type":{"id":2},"stream_historic_data":true,`+
		`"destination":{"connection_type":"RestAPI","credentials":{"url":%q,"size":%d,"headers":%s}}}`, hook, w.delivery.Size, headers)
	var made struct{ ID int64 }
	if err := w.api(token, http.MethodPost, "/api/v2/data_stream", []byte(body), &made); err != nil {
		return fmt.Errorf("register the data stream: %w", err)
	}
	// A platform that outlives the scenario stops streaming to the consumer.
	w.closers = append(w.closers, func() {
		w.api(token, http.MethodDelete, fmt.Sprintf("/api/v2/data_stream/%d", made.ID), nil, nil)
	})
	return nil
}

func missWebhooks(ctx context.Context) error { return nil } // the events are in the log, nobody pushes them

func poll(ctx context.Context) error {
	w := get(ctx)
	api := w.mockURL
	if w.opts.PollAPI != "" && w.opts.Platform != "" {
		api = w.opts.PollAPI
	}
	if w.opts.NoPollTrigger {
		w.note("the consumer polls on its own schedule: the checks that follow wait for its view")
		return nil
	}
	body := fmt.Sprintf(`{"api":%q,"application_token":%q}`, api, w.appToken)
	trigger := w.url(w.opts.PollTrigger, "/admin/poll")
	res, err := http.Post(trigger, "application/json", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("ask the consumer to poll: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("POST %s: HTTP %d %s", trigger, res.StatusCode, b)
	}
	return nil
}
