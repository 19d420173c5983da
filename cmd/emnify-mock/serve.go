package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
	"github.com/emnify-mock/emnify-mock/streamer"
	"github.com/emnify-mock/emnify-mock/streams"
)

const serveUsage = `Usage: emnify-mock serve [flags]

Runs the mock emnify REST API: point your application or an official emnify
SDK at it instead of https://cdn.emnify.net. It starts with a workspace of
about three dozen SIMs and two dozen devices in mixed states (Issued and
unassigned, Factory Test, Activated, Suspended; the built-in scenario
serve-default), two SIM batches waiting to be registered by BIC,
the events that led there, and a second workspace to migrate SIMs to. API
calls change state through the platform's state machines and append exactly
the platform's events, which GET /api/v1/event and friends return.

Flags:
  --addr HOST:PORT     where to listen (default 127.0.0.1:8080). Off loopback
                       (0.0.0.0, a LAN address, a host name) the control API
                       under /mock can reset, snapshot and script the world
                       and hands out tokens, so serve then needs one of:
  --control-token T    require Authorization: Bearer T on every /mock request
                       but /mock/health
  --allow-remote-webhooks HOSTS
                       let data streams (POST /api/v2/data_stream) send to
                       these hosts, comma-separated, or * for any; by default
                       they may send only to loopback (127.0.0.1, ::1,
                       localhost), so the API cannot be used to reach other
                       machines
  --stream-workers N   requests each data stream keeps in flight, 1 to 64
                       (default 4; one stream's: PATCH /mock/deliveries/ID
                       {"workers":N}); requests overlap, so events can arrive
                       out of log order, as a consumer must expect anyway
  --insecure-control   leave /mock open to anyone who reaches the address
                       (logins and tokens still only shown to loopback
                       callers); a warning is printed at every start
  --seed N             make the workspace reproducible (default: random, printed)
  --app-token TOKEN    accept this application token (repeatable; default one
                       minted as a JWT, printed)
  --password P         password of every user (default emnify-mock)
  --scenario S         also run this scenario (built-in name or file) into the
                       world at start-up, as history; repeatable. It may name
                       the default workspaces (acme, production) and their
                       groups (fleet, trackers, cold-chain, sensors, spare, ...;
                       see 'emnify-mock scenarios show serve-default').
  --play S             play this scenario (built-in name or file) live from
                       now on, in the background: each step happens when the
                       scenario's timing says, on the wall clock, with its
                       events; repeatable. (--scenario runs one at once, as
                       history; POST /mock/scenarios?live=true plays one later.)
  --max-scenario-events N
                       refuse a scenario (--scenario, --play, POST
                       /mock/scenarios) that could make more than N events,
                       or provision more than N SIMs and endpoints, before it
                       runs (default 2000000)
  --live RATE          keep the fleet alive: about RATE state changes happen
                       on their own (RATE as 6/m, 1/s or 100/h), the fleet's
                       daily churn in every workspace, each through the state
                       machines with its events, also on data streams.
                       Default off: the world changes only when you call.
                       The event log is kept in memory: the process grows
                       by about 1.6 to 1.9 KB per event (bench/live-
                       memory.sh), so 100/s adds about 650 MB an hour.
  --data-dir DIR       keep the state on disk in DIR and resume from it when
                       started again with the same DIR: the world, the event
                       log, snapshots, tokens (the JWT key too), scenarios
                       being played and every data stream with its position,
                       so it delivers what it still owed. A change answered
                       2xx is on disk before the answer goes out, so even a
                       kill -9 loses none. DIR keeps the flags that built the
                       world (--seed, --scenario, --play, --app-token,
                       --max-scenario-events): leave them out when resuming.
                       Not kept: the API journal (/mock/requests), lockouts,
                       rate-limit counts. A DIR made by another version may
                       not replay (serve says so). Default: all in memory.
  --rate-limits        enforce emnify's documented API rate limits: 429
                       TooManyRequests past 2,000 requests per 5 min per IP,
                       100 logins per 5 min per IP, and per workspace GET
                       /event, /sim, /endpoint lists 10/s (burst 5), one SIM
                       100/s (50), one endpoint or its connectivity 50/s (25).
                       Default off, so a test suite is not throttled.

Every flag can also come from the environment, for containers: the flag's
name in capitals with _ for -, after EMNIFY_MOCK_ (EMNIFY_MOCK_ADDR,
EMNIFY_MOCK_CONTROL_TOKEN, EMNIFY_MOCK_SEED, EMNIFY_MOCK_APP_TOKEN, ...;
repeatable flags take a comma-separated list; true or false for switches).
A flag on the command line wins.

Examples:
  emnify-mock serve
  emnify-mock serve --live 6/m
  emnify-mock serve --play suspend-resume
  emnify-mock serve --addr 127.0.0.1:9000 --seed 7 --app-token my-test-token
  emnify-mock serve --scenario factory-test-activation
  emnify-mock serve --data-dir ./mock-state --live 1/s
`

// ServeCommand runs the mock API until interrupted.
type ServeCommand struct {
	Stdout, Stderr io.Writer
	// ready, when set, receives the server once it listens (for tests).
	ready func(*server.Server)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// historyDays is how far back the default workspace's history begins.
const historyDays = 3

// serveConfig is what serve's flags ask for.
type serveConfig struct {
	addr, password, control, live string
	seed                          uint64
	seedChosen, insecure, limits  bool
	perSecond                     float64
	tokens, scenarios, plays      []string
	maxEvents, streamWorkers      int
	remoteHooks                   []string
	dataDir                       string
	set                           map[string]bool // flags given (or from the environment)
}

// Run builds the world (or, with --data-dir, the world it keeps), serves
// it and shuts down gracefully on ctx.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.config(args)
	if err != nil {
		return err
	}
	var dir *dataDir
	if cfg.dataDir != "" {
		if dir, err = openDataDir(&cfg); err != nil {
			return err
		}
		defer dir.Close()
	}
	srv, toPlay, err := c.start(cfg, dir)
	if err != nil {
		return err
	}
	// Building a large world (--scenario, a data dir's replay) passes
	// through far more memory than the world then holds: give it back now
	// rather than keep the peak as the process's size.
	debug.FreeOSMemory()
	if err := srv.Open(cfg.addr); err != nil {
		srv.Close()
		return err
	}
	if cfg.seedChosen {
		fmt.Fprintf(c.Stderr, "seed %d (pass --seed %d to get this workspace again)\n", cfg.seed, cfg.seed)
	}
	c.banner(srv, cfg.password, cfg.control != "")
	if cfg.insecure {
		fmt.Fprintf(c.Stderr, "warning: --insecure-control: the control API at %s/mock is open to anyone who reaches %s; it can reset the world and hand out its tokens\n", srv.URL(), cfg.addr)
	}
	for _, sc := range toPlay {
		playing, err := srv.Play(sc.file, sc.src)
		if err != nil { // unlikely: it was dry-run; the world has not changed
			srv.Close()
			return &inputError{msg: err.Error()}
		}
		fmt.Fprintf(c.Stderr, "playing %s: %d events until %s\n", playing.Name, playing.Events, playing.Ends.Local().Format(time.DateTime))
	}
	go keepGCHeadroom(ctx, srv.Log().Bytes)
	if cfg.perSecond > 0 {
		fmt.Fprintf(c.Stderr, "live: about %s state changes happen on their own\n", cfg.live)
		go srv.Live(ctx, cfg.perSecond)
	}
	if c.ready != nil {
		c.ready(srv)
	}
	<-ctx.Done()
	return c.shutdown(srv)
}

// start builds the world and the server. With a data dir the world is
// built on the wall clock of its first start, held there, with its JWT
// key, and the journal replayed over it.
func (c *ServeCommand) start(cfg serveConfig, dir *dataDir) (*server.Server, []playSource, error) {
	clock := generator.NewShifted(-historyDays * 24 * time.Hour)
	o := server.Options{AppTokens: cfg.tokens, Password: cfg.password, RateLimits: cfg.limits, MaxScenarioEvents: cfg.maxEvents, ControlToken: cfg.control,
		Streams: streams.Options{Workers: cfg.streamWorkers, Destinations: streamer.Destinations{Allow: cfg.remoteHooks}}}
	// The world is built on a held clock, at the first start of a data
	// dir or now, so that it can be built again the same: the data dir's
	// replay does, and so does a reset (o.Rebuild), instead of keeping a
	// copy of the world at start, which for a large fleet is half the heap.
	var started time.Time
	if dir != nil {
		started = dir.meta.Started
		o.Secret, o.Journal = dir.meta.Key, dir.Dir
	}
	started, release := clock.Hold(started)
	if dir != nil {
		dir.meta.Started = started
	}
	var toPlay []playSource
	var files []scenarios.File
	var err error
	o.World, o.History, files, toPlay, err = c.buildWorld(clock, cfg)
	o.Rebuild = func() (*plan.World, error) {
		clock := generator.NewShifted(-historyDays * 24 * time.Hour)
		_, release := clock.Hold(started)
		defer release()
		world, _, err := scenarios.HistoryOf(clock, cfg.seed, cfg.maxEvents, files...)
		return world, err
	}
	var srv *server.Server
	if err == nil {
		srv, err = server.New(o)
	}
	release()
	if err != nil {
		return nil, nil, err
	}
	if dir != nil {
		if err := c.replay(srv, dir); err != nil {
			srv.Close()
			return nil, nil, err
		}
	}
	return srv, toPlay, nil
}

// replay records a new data dir's world, or replays an existing one's
// journal, and lets the server go on.
func (c *ServeCommand) replay(srv *server.Server, dir *dataDir) error {
	if dir.fresh {
		if err := dir.WriteMeta(dir.meta); err != nil {
			return err
		}
		fmt.Fprintf(c.Stderr, "data dir %s: new; every change is kept there\n", dir.Path())
	} else {
		if dir.Torn > 0 {
			fmt.Fprintf(c.Stderr, "data dir %s: cut a torn last journal line (%d bytes) left by a crash\n", dir.Path(), dir.Torn)
		}
		began, n := time.Now(), 0
		if err := dir.Records(func(line []byte) error { n++; return srv.Replay(line) }); err != nil {
			return &inputError{msg: err.Error()}
		}
		fmt.Fprintf(c.Stderr, "data dir %s: resumed, %d changes replayed in %s\n", dir.Path(), n, time.Since(began).Round(time.Millisecond))
	}
	srv.Resume()
	return nil
}

// playSource is a scenario to play, as read.
type playSource struct {
	file string
	src  []byte
}

// shutdown closes the server and says what its data streams still owed:
// they keep it in memory, as the platform keeps it for a paused stream.
func (c *ServeCommand) shutdown(srv *server.Server) error {
	fmt.Fprintln(c.Stderr, "shutting down")
	err := srv.Close()
	for _, d := range srv.Deliveries() {
		if d.Undelivered > 0 {
			fmt.Fprintf(c.Stderr, "data stream %d to %s (%s): %d events were not delivered\n", d.ID, d.URL, d.Status, d.Undelivered)
		}
	}
	return err
}

// config parses and checks serve's flags (and EMNIFY_MOCK_* variables).
func (c *ServeCommand) config(args []string) (serveConfig, error) {
	var cfg serveConfig
	var tokens, extra, plays stringList
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", server.DefaultAddr, "")
	seedFlag := fs.String("seed", "", "")
	fs.StringVar(&cfg.password, "password", server.DefaultPassword, "")
	fs.Var(&tokens, "app-token", "")
	fs.Var(&extra, "scenario", "")
	fs.Var(&plays, "play", "")
	fs.IntVar(&cfg.maxEvents, "max-scenario-events", plan.DefaultMaxEvents, "")
	fs.StringVar(&cfg.live, "live", "", "")
	fs.BoolVar(&cfg.limits, "rate-limits", false, "")
	fs.StringVar(&cfg.control, "control-token", "", "")
	fs.BoolVar(&cfg.insecure, "insecure-control", false, "")
	fs.IntVar(&cfg.streamWorkers, "stream-workers", streams.DefaultWorkers, "")
	remoteHooks := fs.String("allow-remote-webhooks", "", "")
	fs.StringVar(&cfg.dataDir, "data-dir", "", "")
	if err := parseFlags(fs, args, serveUsage, c.Stdout); err != nil {
		return cfg, err
	}
	if err := flagsFromEnv(fs, os.LookupEnv); err != nil {
		return cfg, err
	}
	cfg.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cfg.set[f.Name] = true })
	if err := checkMaxEvents(cfg.maxEvents, "serve"); err != nil {
		return cfg, err
	}
	cfg.tokens, cfg.scenarios, cfg.plays, cfg.remoteHooks = tokens, extra, plays, commaList(*remoteHooks)
	hint := "emnify-mock serve --help"
	bad := func(err error) error { return &usageError{err: err, hint: hint} }
	switch {
	case !validHostPort(cfg.addr):
		return cfg, bad(fmt.Errorf("--addr must be HOST:PORT, got %q", cfg.addr))
	case cfg.control != "" && cfg.insecure:
		return cfg, bad(errors.New("--control-token and --insecure-control contradict each other"))
	case cfg.streamWorkers < 1 || cfg.streamWorkers > streams.MaxWorkers:
		return cfg, bad(fmt.Errorf("--stream-workers must be 1 to %d, got %d", streams.MaxWorkers, cfg.streamWorkers))
	case !loopbackAddr(cfg.addr) && cfg.control == "" && !cfg.insecure:
		return cfg, &usageError{err: fmt.Errorf("--addr %s is off loopback: anyone who reaches it could reset the world and read its tokens through /mock", cfg.addr),
			hint: "emnify-mock serve --addr " + cfg.addr + " --control-token SECRET (or --insecure-control, or --addr 127.0.0.1:PORT)"}
	}
	var err error
	if cfg.seed, err = parseSeed(*seedFlag); err != nil {
		return cfg, bad(err)
	}
	cfg.seedChosen = *seedFlag == ""
	if cfg.perSecond, err = parseRate(cfg.live); err != nil {
		return cfg, bad(fmt.Errorf("--live: %w", err))
	}
	for _, name := range append(extra, plays...) {
		if _, _, err := scenarioSource(name); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// buildWorld runs the default workspace's scenario and the --scenario
// ones on one clock: the wall clock, started historyDays back so their
// history lies in the past; each run moves it on by its span, and then it
// jumps to the present. Scenarios to --play are checked on the world as it
// is when they start, so a bad one fails before serve listens.
func (c *ServeCommand) buildWorld(clock *generator.Shifted, cfg serveConfig) (*plan.World, []generator.Event, []scenarios.File, []playSource, error) {
	files, err := scenarios.Read(append([]string{"serve-default"}, cfg.scenarios...)...)
	if err != nil {
		return nil, nil, nil, nil, &inputError{msg: err.Error()}
	}
	world, history, err := scenarios.HistoryOf(clock, cfg.seed, cfg.maxEvents, files...)
	if err != nil {
		return nil, nil, nil, nil, &inputError{msg: err.Error()}
	}
	parse := func(name string) (*scenarios.Scenario, error) {
		file, src, _ := scenarioSource(name)            // checked in config
		sc, err := scenarios.ParseFor(file, src, world) // it may name the default workspace and its groups
		if err != nil {
			return nil, &inputError{msg: err.Error()}
		}
		sc.Plan.MaxEvents = cfg.maxEvents
		return sc, nil
	}
	if ahead := clock.Offset(); ahead > 0 {
		fmt.Fprintf(c.Stderr, "note: the scenarios run %s past the present; the clock stands that far ahead\n",
			generator.FormatDuration(ahead.Truncate(time.Second)))
	} else if err := clock.Advance(-ahead); err != nil {
		return nil, nil, nil, nil, err
	}
	var toPlay []playSource
	for _, name := range cfg.plays {
		sc, err := parse(name)
		if err == nil {
			if _, err = world.DryRun(sc.Plan); err != nil {
				err = &inputError{msg: err.Error()}
			}
		}
		if err != nil {
			return nil, nil, nil, nil, err
		}
		file, src, _ := scenarioSource(name)
		toPlay = append(toPlay, playSource{file, src})
	}
	return world, history, files, toPlay, nil
}

func (c *ServeCommand) banner(srv *server.Server, password string, controlToken bool) {
	control := ""
	if controlToken {
		control = "\n                     needs Authorization: Bearer <control token>"
	}
	token := srv.AppTokens()[0]
	var ws struct {
		Name          string
		ID            int64
		SIMs, Devices int
		User, BIC     string
	}
	srv.ReadWorld(func(world *plan.World, _ func(int64) []string) { // the world a data dir kept may be playing already
		w := world.Workspaces["acme"]
		ws.Name, ws.ID, ws.SIMs, ws.Devices, ws.User = w.Name, w.ID, len(w.SIMs()), len(w.Endpoints()), w.Users[0].Username
		for _, b := range w.Batches() {
			if !b.Registered {
				ws.BIC = b.BIC
				break
			}
		}
	})
	fmt.Fprintf(c.Stdout, `emnify-mock serving the emnify API at %[1]s  (%[2]d events of history)

  workspace          %[3]s (id %[4]d): %[5]d SIMs, %[6]d endpoints
  application token  %[7]s
  user login         %[8]s / %[9]s
  registrable BIC    %[10]s
  control API        %[1]s/mock (lists it: workspaces, events, scenarios, clock, snapshots)%[11]s
  event timeline     %[1]s/mock/timeline (in a browser)

  TOKEN=$(curl -s -X POST %[1]s/api/v1/authenticate -H 'Content-Type: application/json' \
      -d '{"application_token":"%[7]s"}' | jq -r .auth_token)
  curl -s -H "Authorization: Bearer $TOKEN" '%[1]s/api/v1/event?per_page=5&sort=-id' | jq .

  The world changes when you call the API. For a fleet that changes on its own:
  --live 6/m; to play a scenario on the clock: --play suspend-resume (--help).

`, srv.URL(), srv.Log().Len(), ws.Name, ws.ID, ws.SIMs, ws.Devices, token, ws.User, password, ws.BIC, control)
}

// parseRate reads a rate written N/s, N/m or N/h as events per second; ""
// is 0.
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	v, err := strconv.ParseFloat(n, 64)
	if !ok || per == 0 || err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a rate like 6/m, 1/s or 100/h, got %q", s)
	}
	return v / per, nil
}

func validHostPort(s string) bool {
	_, _, err := net.SplitHostPort(s)
	return err == nil
}

// loopback says whether a listening address stays on this machine: a
// loopback IP or "localhost". An empty host listens everywhere.
func loopbackAddr(hostPort string) bool {
	host, _, _ := net.SplitHostPort(hostPort)
	return streamer.Loopback(host)
}

// commaList splits a comma-separated list, dropping empty items.
func commaList(s string) []string {
	var hosts []string
	for h := range strings.SplitSeq(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// flagsFromEnv sets every flag not given on the command line from its
// environment variable, EMNIFY_MOCK_ and the name in capitals with _ for
// -. A repeatable flag takes a comma-separated list.
func flagsFromEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "EMNIFY_MOCK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := lookup(name)
		if given[f.Name] || !ok || err != nil {
			return
		}
		values := []string{v}
		if _, repeatable := f.Value.(*stringList); repeatable {
			values = commaList(v)
		}
		for _, x := range values {
			if e := fs.Set(f.Name, x); e != nil {
				err = &usageError{err: fmt.Errorf("%s=%q: %v", name, v, e), hint: "emnify-mock " + fs.Name() + " --help"}
				return
			}
		}
	})
	return err
}
