package scenarios

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"gopkg.in/yaml.v3"
)

// Scenario is a parsed scenario.
type Scenario struct {
	Name        string
	Description string
	File        string
	Plan        *plan.Plan
}

// Limits that keep a hostile file from exhausting memory while parsing.
const (
	maxSteps = 10_000
	maxDepth = 16
)

// Parse reads a scenario strictly: unknown keys, wrong types, bad values
// and references to things the scenario does not declare are refused with
// an *Error naming file, line and column. Whether the steps are legal on the
// platform is found by running the plan (see Run).
func Parse(file string, data []byte) (*Scenario, error) {
	return parse(file, data, nil)
}

// ParseFor parses a scenario that will run on an existing world: it may
// name the world's workspaces, users, tokens and groups.
func ParseFor(file string, data []byte, w *plan.World) (*Scenario, error) {
	return parse(file, data, w)
}

func parse(file string, data []byte, w *plan.World) (*Scenario, error) {
	p := &parser{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Col: 1, What: "the file holds no scenario", Expected: "a mapping with name, description, workspaces and steps"}
		}
		return nil, p.syntax(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.fail(&extra, "one scenario per file", "a second YAML document")
	} else if !errors.Is(err, io.EOF) {
		return nil, p.syntax(err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Col: 1, What: "the file holds no scenario", Expected: "a mapping with name, description, workspaces and steps"}
	}
	s := &scenarioParser{parser: p, groups: map[string]groupInfo{}, workspaces: map[string]*wsInfo{}}
	if w != nil {
		wss, groups := w.Names()
		for key, actors := range wss {
			s.workspaces[key] = &wsInfo{actors: actors, existing: true}
		}
		for name, kind := range groups {
			s.groups[name] = groupInfo{kind: kind, existing: true}
		}
	}
	return s.scenario(doc.Content[0])
}

var lineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax turns a yaml.v3 error, which knows the line but not the column,
// into an *Error.
func (p *parser) syntax(err error) error {
	msg := err.Error()
	line := 1
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Error{File: p.file, Line: line, Col: 1, What: "YAML syntax error: " + msg, Expected: "valid YAML"}
}

type groupInfo struct {
	kind     plan.GroupKind
	ws       string
	existing bool // the world has it; the scenario may declare it anew
}

type wsInfo struct {
	actors   []string
	existing bool // the world has it; the scenario may name it again
}

type scenarioParser struct {
	*parser
	groups     map[string]groupInfo
	workspaces map[string]*wsInfo
	steps      int
}

func (p *scenarioParser) scenario(n *yaml.Node) (*Scenario, error) {
	f, err := p.mapping(n, "the scenario", "name", "description", "start", "workspaces", "steps", "expect")
	if err != nil {
		return nil, err
	}
	if err := p.require(f, "the scenario", "name", "description", "workspaces", "steps"); err != nil {
		return nil, err
	}
	sc := &Scenario{File: p.file, Plan: &plan.Plan{}}
	if sc.Name, err = p.name(f.get("name"), "name"); err != nil {
		return nil, err
	}
	if sc.Description, err = p.str(f.get("description"), "description"); err != nil {
		return nil, err
	}
	sc.Plan.Name = sc.Name
	if n := f.get("start"); n != nil {
		if sc.Plan.Start, err = p.instant(n, "start"); err != nil {
			return nil, err
		}
	}
	wss, err := p.sequence(f.get("workspaces"), "workspaces")
	if err != nil {
		return nil, err
	}
	if len(wss) == 0 {
		return nil, p.fail(f.get("workspaces"), "at least one workspace", "workspaces is empty")
	}
	for _, wn := range wss {
		wp, err := p.workspace(wn)
		if err != nil {
			return nil, err
		}
		sc.Plan.Workspaces = append(sc.Plan.Workspaces, wp)
	}
	if sc.Plan.Steps, err = p.stepList(f.get("steps"), "steps", 0); err != nil {
		return nil, err
	}
	if n := f.get("expect"); n != nil {
		if sc.Plan.Expect, err = p.expect(n); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

func (p *scenarioParser) workspace(n *yaml.Node) (plan.WorkspacePlan, error) {
	var wp plan.WorkspacePlan
	f, err := p.mapping(n, "a workspace", "name", "organisation", "users", "tokens", "ip-space", "factory-test", "sims", "endpoints", "batches")
	if err != nil {
		return wp, err
	}
	if err := p.require(f, "a workspace", "name"); err != nil {
		return wp, err
	}
	if wp.Key, err = p.name(f.get("name"), "workspace name"); err != nil {
		return wp, err
	}
	info := &wsInfo{}
	var known []string // actors of the world's workspace of that name
	if prev := p.workspaces[wp.Key]; prev != nil && !prev.existing {
		return wp, p.fail(f.get("name"), "a name no other workspace has", "workspace %q is declared twice", wp.Key)
	} else if prev != nil {
		known = prev.actors
	}
	p.workspaces[wp.Key] = info
	if n := f.get("organisation"); n != nil {
		if wp.Name, err = p.str(n, "organisation"); err != nil {
			return wp, err
		}
	}
	for _, k := range []string{"users", "tokens"} {
		n := f.get(k)
		if n == nil {
			continue
		}
		items, err := p.sequence(n, k)
		if err != nil {
			return wp, err
		}
		for _, it := range items {
			name, err := p.name(it, strings.TrimSuffix(k, "s")+" name")
			if err != nil {
				return wp, err
			}
			if name == "platform" || contains(info.actors, name) {
				return wp, p.fail(it, "names unique among the workspace's users and tokens, and not \"platform\"", "%q is used twice", name)
			}
			info.actors = append(info.actors, name)
			if k == "users" {
				wp.Users = append(wp.Users, name)
			} else {
				wp.Tokens = append(wp.Tokens, name)
			}
		}
	}
	switch {
	case known != nil:
		// The world's workspace keeps its users and tokens and gets those
		// the scenario names besides.
		for _, a := range info.actors {
			if !contains(known, a) {
				known = append(known, a)
			}
		}
		info.actors, info.existing = known, true
	default:
		if len(wp.Users) == 0 {
			info.actors = append(info.actors, "admin")
		}
		if len(wp.Tokens) == 0 {
			info.actors = append(info.actors, "default")
		}
	}
	if n := f.get("ip-space"); n != nil {
		if wp.IPSpace, err = p.prefix(n, "ip-space"); err != nil {
			return wp, err
		}
	}
	if n := f.get("factory-test"); n != nil {
		ft, err := p.mapping(n, "factory-test", "data", "sms")
		if err != nil {
			return wp, err
		}
		if n := ft.get("data"); n != nil {
			if wp.FactoryTestBytes, err = p.size(n, "factory-test data"); err != nil {
				return wp, err
			}
		}
		if n := ft.get("sms"); n != nil {
			if wp.FactoryTestSMS, err = p.integer(n, "factory-test sms", 1, 1000); err != nil {
				return wp, err
			}
		}
	}
	for _, k := range []struct {
		key  string
		kind plan.GroupKind
	}{{"sims", plan.GroupSIMs}, {"endpoints", plan.GroupEndpoints}, {"batches", plan.GroupBatches}} {
		n := f.get(k.key)
		if n == nil {
			continue
		}
		items, err := p.sequence(n, k.key)
		if err != nil {
			return wp, err
		}
		for _, it := range items {
			g, err := p.group(it, k.kind, wp.Key)
			if err != nil {
				return wp, err
			}
			wp.Groups = append(wp.Groups, g)
		}
	}
	return wp, nil
}

var simStatuses = map[string]generator.SIMStatus{
	"issued": generator.SIMIssued, "activated": generator.SIMActivated,
	"suspended": generator.SIMSuspended, "factory-test": generator.SIMFactoryTest,
}

func (p *scenarioParser) group(n *yaml.Node, k plan.GroupKind, ws string) (plan.GroupPlan, error) {
	g := plan.GroupPlan{Pos: p.pos(n), Kind: k, Count: 1}
	var keys []string
	var what string
	switch k {
	case plan.GroupSIMs:
		what, keys = "a SIM group", []string{"group", "count", "status", "endpoint"}
	case plan.GroupEndpoints:
		what, keys = "an endpoint group", []string{"group", "count", "name", "status", "tags", "imei"}
	case plan.GroupBatches:
		what, keys = "a batch group", []string{"group", "count", "size"}
	}
	f, err := p.mapping(n, what, keys...)
	if err != nil {
		return g, err
	}
	if err := p.require(f, what, "group"); err != nil {
		return g, err
	}
	if g.Name, err = p.declare(f.get("group"), k, ws); err != nil {
		return g, err
	}
	if n := f.get("count"); n != nil {
		if g.Count, err = p.integer(n, "count", 1, 100_000); err != nil {
			return g, err
		}
	}
	switch k {
	case plan.GroupSIMs:
		if n := f.get("status"); n != nil {
			if g.Status, err = p.simStatus(n, "status", simStatuses); err != nil {
				return g, err
			}
		}
		if n := f.get("endpoint"); n != nil {
			ef, err := p.mapping(n, "endpoint", "group", "name", "status", "tags", "imei")
			if err != nil {
				return g, err
			}
			if n := ef.get("group"); n != nil {
				if g.EndpointGroup, err = p.declare(n, plan.GroupEndpoints, ws); err != nil {
					return g, err
				}
			}
			t, err := p.template(ef)
			if err != nil {
				return g, err
			}
			g.Endpoint = &t
		}
	case plan.GroupEndpoints:
		t, err := p.template(f)
		if err != nil {
			return g, err
		}
		g.Endpoint = &t
	case plan.GroupBatches:
		g.BatchSize = 1
		if n := f.get("size"); n != nil {
			if g.BatchSize, err = p.integer(n, "size", 1, 10_000); err != nil {
				return g, err
			}
		}
	}
	return g, nil
}

// declare registers a group name; names are unique across the scenario.
// A name the world has from an earlier scenario may be declared again:
// from then on it means the new group.
func (p *scenarioParser) declare(n *yaml.Node, k plan.GroupKind, ws string) (string, error) {
	name, err := p.name(n, "group name")
	if err != nil {
		return "", err
	}
	if prev, dup := p.groups[name]; dup && !prev.existing {
		return "", p.fail(n, "a name no other group has", "group %q is declared twice", name)
	}
	p.groups[name] = groupInfo{kind: k, ws: ws}
	return name, nil
}

func (p *scenarioParser) simStatus(n *yaml.Node, what string, allowed map[string]generator.SIMStatus) (generator.SIMStatus, error) {
	s, err := p.str(n, what)
	if st, ok := allowed[s]; err == nil && ok {
		return st, nil
	}
	return 0, p.fail(n, "one of "+keys(allowed), "unknown %s %s", what, kind(n))
}

var endpointStatuses = map[string]generator.EndpointStatus{"enabled": generator.EndpointEnabled, "disabled": generator.EndpointDisabled}

// template reads name, status, tags and imei of endpoints to make.
func (p *scenarioParser) template(f fields) (plan.EndpointTemplate, error) {
	t := plan.EndpointTemplate{IMEI: true}
	var err error
	if n := f.get("name"); n != nil {
		if t.Name, err = p.str(n, "endpoint name"); err != nil {
			return t, err
		}
	}
	if n := f.get("status"); n != nil {
		s, _ := p.str(n, "endpoint status")
		st, ok := endpointStatuses[s]
		if !ok {
			return t, p.fail(n, "enabled or disabled", "unknown endpoint status %s", kind(n))
		}
		t.Status = st
	}
	if n := f.get("tags"); n != nil {
		tags, err := p.str(n, "tags")
		if err != nil {
			return t, err
		}
		t.Tags = &tags
	}
	if n := f.get("imei"); n != nil {
		if t.IMEI, err = p.boolean(n, "imei"); err != nil {
			return t, err
		}
	}
	return t, nil
}

func keys[V any](m map[string]V) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
