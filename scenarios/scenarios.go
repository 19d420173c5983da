// Package scenarios is the YAML scenario language of emnify-mock: a strict
// parser that turns a scenario into a plan.Plan, and the library of
// built-in scenarios embedded in the binary.
package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

//go:embed library/*.yaml
var library embed.FS

// Names returns the names of the built-in scenarios, sorted; they come from
// the embedded files, so help texts and validation never drift.
func Names() []string {
	entries, err := fs.ReadDir(library, "library")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin returns the source of a built-in scenario, or ok false.
func Builtin(name string) (src []byte, ok bool) {
	b, err := library.ReadFile("library/" + name + ".yaml")
	return b, err == nil
}

// Load parses a built-in scenario by name.
func Load(name string) (*Scenario, error) {
	src, ok := Builtin(name)
	if !ok {
		return nil, fmt.Errorf("no built-in scenario %q; the built-ins are %s", name, strings.Join(Names(), ", "))
	}
	return Parse(name+".yaml", src)
}

// Run runs the scenario with the seed on a fresh world, for sinks that
// cannot take events back (a file, a webhook): first dry, so that an
// illegal step is reported (with its file, line and column) before any
// event reaches emit, then for real. Same seed, same events.
func (s *Scenario) Run(seed uint64, emit func(generator.Event) error) (plan.Summary, error) {
	if _, err := plan.DryRun(s.Plan, seed); err != nil {
		return plan.Summary{}, err
	}
	return plan.Run(s.Plan, seed, emit)
}

// Check parses and dry-runs a scenario: what `scenarios validate` does.
// The summary says what it would make.
func Check(file string, src []byte, seed uint64, maxEvents int) (*Scenario, plan.Summary, error) {
	sc, err := Parse(file, src)
	if err != nil {
		return nil, plan.Summary{}, err
	}
	sc.Plan.MaxEvents = maxEvents
	sum, err := plan.DryRun(sc.Plan, seed)
	if err != nil {
		return nil, sum, err
	}
	return sc, sum, nil
}

// Source reads a scenario given as a file or a built-in name (a file of
// that name wins), and the name its messages use for it.
func Source(nameOrFile string) (file string, src []byte, err error) {
	if src, err := os.ReadFile(nameOrFile); err == nil {
		return nameOrFile, src, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("read scenario: %w", err)
	}
	if src, ok := Builtin(nameOrFile); ok {
		return nameOrFile + ".yaml", src, nil
	}
	return "", nil, fmt.Errorf("scenario %q is neither a file nor a built-in scenario (%s)", nameOrFile, strings.Join(Names(), ", "))
}

// History runs scenarios (files or built-in names) one after the other
// into a new world on the clock, as its history: each is parsed against
// the world the ones before it left, so it may name their workspaces and
// groups; each is held to maxEvents (plan.DefaultMaxEvents if 0). The
// world emnify-mock serve starts with is History(clock, seed, n,
// "serve-default", its --scenario ones...).
func History(clock generator.Clock, seed uint64, maxEvents int, names ...string) (*plan.World, []generator.Event, error) {
	files, err := Read(names...)
	if err != nil {
		return nil, nil, err
	}
	return HistoryOf(clock, seed, maxEvents, files...)
}

// File is a scenario as read: the name its messages use for it, and its
// text.
type File struct {
	Name string
	Src  []byte
}

// Read reads scenarios given as files or built-in names (see Source).
func Read(names ...string) ([]File, error) {
	files := make([]File, 0, len(names))
	for _, name := range names {
		file, src, err := Source(name)
		if err != nil {
			return nil, err
		}
		files = append(files, File{file, src})
	}
	return files, nil
}

// HistoryOf is History over scenarios already read: the same files, seed
// and clock instants make the same world.
func HistoryOf(clock generator.Clock, seed uint64, maxEvents int, files ...File) (*plan.World, []generator.Event, error) {
	world := plan.NewWorldOn(clock, seed)
	var history []generator.Event
	for _, f := range files {
		sc, err := ParseFor(f.Name, f.Src, world)
		if err != nil {
			return nil, nil, err
		}
		if maxEvents > 0 {
			sc.Plan.MaxEvents = maxEvents
		}
		if _, err := world.Run(sc.Plan, func(e generator.Event) error { history = append(history, e); return nil }); err != nil {
			return nil, nil, err
		}
	}
	return world, history, nil
}
