package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/datadir"
)

// serveMeta is what a data dir keeps about the world it holds: how it was
// built at first start. Everything since is in its journal.
type serveMeta struct {
	Format  int       `json:"format"`
	Version string    `json:"version"` // of the emnify-mock that made it
	Started time.Time `json:"started"` // the wall clock the world was built at
	Seed    uint64    `json:"seed"`
	// Scenarios are the --scenario arguments as given; Built are what the
	// world is built from: built-in names, or copies under scenarios/.
	Scenarios []string `json:"scenarios,omitempty"`
	Built     []string `json:"built_from,omitempty"`
	Plays     []string `json:"plays,omitempty"` // in the journal once started
	AppTokens []string `json:"app_tokens,omitempty"`
	MaxEvents int      `json:"max_scenario_events"`
	Key       []byte   `json:"jwt_key"`
}

// dataDir is serve's open data dir and what it holds.
type dataDir struct {
	*datadir.Dir
	meta  serveMeta
	fresh bool // made by this start
}

// openDataDir opens (or makes) the data dir and reconciles serve's flags
// with it: a new one records the flags that build the world; an existing
// one rebuilds its world, and such flags given again must say the same.
func openDataDir(cfg *serveConfig) (*dataDir, error) {
	dir, err := datadir.Open(cfg.dataDir)
	if err != nil {
		return nil, &inputError{msg: err.Error()}
	}
	d := &dataDir{Dir: dir}
	found, err := dir.ReadMeta(&d.meta)
	if err == nil && !found {
		err = d.start(cfg)
	} else if err == nil {
		err = d.resume(cfg)
	}
	if err != nil {
		dir.Close()
		return nil, err
	}
	return d, nil
}

// start records a new world's flags, with copies of its scenario files.
func (d *dataDir) start(cfg *serveConfig) error {
	if info, err := os.Stat(filepath.Join(d.Path(), "journal.ndjson")); err == nil && info.Size() > 0 {
		return &inputError{msg: fmt.Sprintf("data dir %s has a journal but no meta.json: it cannot be replayed", d.Path())}
	}
	d.fresh = true
	key := make([]byte, 48)
	rand.Read(key)
	d.meta = serveMeta{Format: datadir.Format, Version: version(), Seed: cfg.seed, Scenarios: cfg.scenarios, Plays: cfg.plays,
		AppTokens: cfg.tokens, MaxEvents: cfg.maxEvents, Key: key}
	for i, name := range cfg.scenarios {
		file, src, err := scenarioSource(name)
		if err != nil {
			return err
		}
		if file == name+".yaml" && !fileExists(name) { // built in
			d.meta.Built = append(d.meta.Built, name)
			continue
		}
		copyName := filepath.Join("scenarios", fmt.Sprintf("%d-%s", i+1, filepath.Base(file)))
		if _, err := d.WriteFile(copyName, src); err != nil {
			return err
		}
		d.meta.Built = append(d.meta.Built, copyName)
	}
	return nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// resume checks the flags against the data dir's and takes its own.
func (d *dataDir) resume(cfg *serveConfig) error {
	m := d.meta
	if m.Format != datadir.Format {
		return &inputError{msg: fmt.Sprintf("data dir %s has format %d; this emnify-mock reads format %d (start with a new --data-dir)", d.Path(), m.Format, datadir.Format)}
	}
	differs := func(flag, was, now string) error {
		return &usageError{err: fmt.Errorf("--%s %s differs from the data dir's (%s): the world in %s was built with it", flag, now, was, d.Path()),
			hint: "leave --" + flag + " out to resume, or start with a new --data-dir"}
	}
	list := func(l []string) string { return strings.Join(l, ",") }
	switch {
	case cfg.set["seed"] && cfg.seed != m.Seed:
		return differs("seed", strconv.FormatUint(m.Seed, 10), strconv.FormatUint(cfg.seed, 10))
	case cfg.set["scenario"] && !slices.Equal(cfg.scenarios, m.Scenarios):
		return differs("scenario", list(m.Scenarios), list(cfg.scenarios))
	case cfg.set["play"] && !slices.Equal(cfg.plays, m.Plays):
		return differs("play", list(m.Plays), list(cfg.plays))
	case cfg.set["app-token"] && !slices.Equal(cfg.tokens, m.AppTokens):
		return differs("app-token", list(m.AppTokens), list(cfg.tokens))
	case cfg.set["max-scenario-events"] && cfg.maxEvents != m.MaxEvents:
		return differs("max-scenario-events", strconv.Itoa(m.MaxEvents), strconv.Itoa(cfg.maxEvents))
	}
	cfg.seed, cfg.seedChosen, cfg.tokens, cfg.maxEvents = m.Seed, false, m.AppTokens, m.MaxEvents
	cfg.scenarios, cfg.plays = nil, nil // plays are in the journal
	for _, b := range m.Built {
		if strings.HasPrefix(b, "scenarios"+string(filepath.Separator)) {
			b = filepath.Join(d.Path(), b)
		}
		cfg.scenarios = append(cfg.scenarios, b)
	}
	return nil
}
