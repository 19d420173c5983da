package scenarios

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"gopkg.in/yaml.v3"
)

// Keys every step may have, and the keys that belong to one action only.
var (
	timingKeys = []string{"at", "after", "every", "jitter"}
	actionKeys = []string{"do", "target", "as", "pick"}
	blockKeys  = []string{"repeat", "for", "steps", "choose"}
	onlyFor    = map[string][]plan.Action{
		"status":       {plan.ActRegister},
		"data":         {plan.ActReportUsage},
		"sms":          {plan.ActReportUsage},
		"payload":      {plan.ActSendSMS},
		"to":           {plan.ActMigrate},
		"auto-detach":  {plan.ActMigrate},
		"sims":         {plan.ActAssign},
		"endpoint":     {plan.ActCreateEndpoint},
		"activate":     {plan.ActCreateEndpoint},
		"factory-test": {plan.ActCreateEndpoint},
		"into":         {plan.ActCreateEndpoint},
		"count":        {plan.ActCreateEndpoint},
		"workspace":    {plan.ActCreateEndpoint},
	}
)

func stepKeys(inChoice bool) []string {
	ks := append(append(append([]string{}, actionKeys...), timingKeys...), blockKeys...)
	for k := range onlyFor {
		ks = append(ks, k)
	}
	sort.Strings(ks[len(actionKeys)+len(timingKeys)+len(blockKeys):])
	if inChoice {
		ks = append(ks, "weight")
	}
	return ks
}

func (p *scenarioParser) stepList(n *yaml.Node, what string, depth int) ([]plan.Step, error) {
	items, err := p.sequence(n, what)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.fail(n, "at least one step", "%s is empty", what)
	}
	var steps []plan.Step
	for _, it := range items {
		s, _, err := p.step(it, depth, false)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func (p *scenarioParser) step(n *yaml.Node, depth int, inChoice bool) (plan.Step, int, error) {
	s := plan.Step{Pos: p.pos(n)}
	if p.steps++; p.steps > maxSteps {
		return s, 0, p.fail(n, fmt.Sprintf("at most %d steps", maxSteps), "the scenario has too many steps")
	}
	if depth > maxDepth {
		return s, 0, p.fail(n, fmt.Sprintf("at most %d levels of repeat and choose", maxDepth), "steps nest too deeply")
	}
	if !inChoice && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == "weight" {
				return s, 0, p.fail(k, "weight only on the alternatives listed under choose", "weight outside choose")
			}
		}
	}
	f, err := p.mapping(n, "a step", stepKeys(inChoice)...)
	if err != nil {
		return s, 0, err
	}
	weight := 1
	if n := f.get("weight"); n != nil {
		if weight, err = p.integer(n, "weight", 1, 1_000_000); err != nil {
			return s, 0, err
		}
	}
	if err := p.timing(f, &s); err != nil {
		return s, 0, err
	}
	var kinds []string
	for _, k := range []string{"do", "repeat", "for", "choose"} {
		if f.has(k) {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return s, 0, p.fail(n, `one of "do", "repeat", "for" or "choose"`, "the step says nothing to do")
	case len(kinds) > 1:
		return s, 0, p.fail(f.keys[kinds[1]], `one of "do", "repeat", "for" or "choose" per step`, "the step has both %q and %q", kinds[0], kinds[1])
	}
	switch kinds[0] {
	case "do":
		err = p.action(f, &s)
	case "choose":
		err = p.choose(f, &s, depth)
	default:
		err = p.block(f, &s, depth)
	}
	return s, weight, err
}

func (p *scenarioParser) timing(f fields, s *plan.Step) error {
	var err error
	if n := f.get("at"); n != nil {
		if f.has("after") {
			return p.fail(f.keys["after"], "at or after, not both", "the step has both \"at\" and \"after\"")
		}
		if s.At, err = p.duration(n, "at"); err != nil {
			return err
		}
		s.HasAt = true
	}
	for _, d := range []struct {
		key string
		to  *time.Duration
	}{{"after", &s.After}, {"every", &s.Every}, {"jitter", &s.Jitter}} {
		if n := f.get(d.key); n != nil {
			if *d.to, err = p.duration(n, d.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// misplaced refuses keys that belong to other kinds of step.
func (p *scenarioParser) misplaced(f fields, what string, allowed ...string) error {
	for k, kn := range f.keys {
		if contains(allowed, k) || contains(timingKeys, k) || k == "weight" {
			continue
		}
		if actions, ok := onlyFor[k]; ok && what != "" {
			var names []string
			for _, a := range actions {
				names = append(names, a.String())
			}
			return p.fail(kn, "it only with "+strings.Join(names, " or "), "key %q does not apply to %s", k, what)
		}
		return p.fail(kn, "it only in "+owner(k), "key %q does not apply to %s", k, describeStep(f))
	}
	return nil
}

func owner(k string) string {
	switch {
	case contains(actionKeys, k):
		return "a step with do"
	case k == "steps":
		return "a step with repeat or for"
	}
	return "another kind of step"
}

func describeStep(f fields) string {
	for _, k := range []string{"do", "repeat", "for", "choose"} {
		if n := f.get(k); n != nil {
			if k == "do" {
				return n.Value
			}
			return "a " + k + " step"
		}
	}
	return "this step"
}

func (p *scenarioParser) block(f fields, s *plan.Step, depth int) error {
	if err := p.misplaced(f, "", "repeat", "for", "steps"); err != nil {
		return err
	}
	var err error
	if n := f.get("repeat"); n != nil {
		if s.Repeat, err = p.integer(n, "repeat", 1, 1_000_000); err != nil {
			return err
		}
	} else {
		if s.For, err = p.duration(f.get("for"), "for"); err != nil {
			return err
		}
		if s.Every <= 0 {
			return p.fail(f.keys["for"], "every: a duration greater than 0s", "for without every would never end")
		}
	}
	if err := p.require(f, "a repeat or for step", "steps"); err != nil {
		return err
	}
	s.Steps, err = p.stepList(f.get("steps"), "steps", depth+1)
	return err
}

func (p *scenarioParser) choose(f fields, s *plan.Step, depth int) error {
	if err := p.misplaced(f, "", "choose"); err != nil {
		return err
	}
	items, err := p.sequence(f.get("choose"), "choose")
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return p.fail(f.get("choose"), "at least one alternative", "choose is empty")
	}
	for _, it := range items {
		c, w, err := p.step(it, depth+1, true)
		if err != nil {
			return err
		}
		s.Choose = append(s.Choose, plan.Choice{Weight: w, Step: c})
	}
	return nil
}

var registerStatuses = map[string]generator.SIMStatus{
	"issued": generator.SIMIssued, "activated": generator.SIMActivated, "factory-test": generator.SIMFactoryTest,
}

func (p *scenarioParser) action(f fields, s *plan.Step) error {
	name, err := p.str(f.get("do"), "do")
	if err != nil {
		return err
	}
	act, ok := plan.Actions[name]
	if !ok {
		return p.fail(f.get("do"), "one of "+keys(plan.Actions), "unknown action %q", name)
	}
	s.Action = act
	var own []string
	for k, acts := range onlyFor {
		for _, a := range acts {
			if a == act {
				own = append(own, k)
			}
		}
	}
	if err := p.misplaced(f, name, append(own, actionKeys...)...); err != nil {
		return err
	}
	if n := f.get("target"); n != nil {
		if s.Target, err = p.target(n, "target"); err != nil {
			return err
		}
	} else if act != plan.ActCreateEndpoint {
		return p.require(f, name, "target")
	}
	if n := f.get("pick"); n != nil {
		if s.Target.Pick, err = p.integer(n, "pick", 1, 100_000); err != nil {
			return err
		}
		if s.Target.To == s.Target.From+1 {
			return p.fail(f.keys["pick"], "pick on a group or a range of it", "pick on the single member %s[%d]", s.Target.Group, s.Target.From)
		}
	}
	if n := f.get("as"); n != nil {
		if s.As, err = p.name(n, "as"); err != nil {
			return err
		}
		if !p.knownActor(s.As) {
			return p.fail(n, "a user or token of a workspace, or platform", "no user or token is named %q", s.As)
		}
	}
	switch act {
	case plan.ActRegister:
		if p.groups[s.Target.Group].kind != plan.GroupBatches {
			return p.fail(f.get("target"), "a group declared under batches", "register acts on SIM batches, and %s is not a batch group", s.Target.Group)
		}
		if n := f.get("status"); n != nil {
			if s.Status, err = p.simStatus(n, "registration status", registerStatuses); err != nil {
				return err
			}
		}
	case plan.ActReportUsage:
		if !f.has("data") && !f.has("sms") {
			return p.fail(f.node, `"data", "sms" or both`, "report-usage reports no usage")
		}
		if n := f.get("data"); n != nil {
			if s.Data, err = p.size(n, "data"); err != nil {
				return err
			}
		}
		if n := f.get("sms"); n != nil {
			if s.SMS, err = p.integer(n, "sms", 0, 1000); err != nil {
				return err
			}
		}
	case plan.ActSendSMS:
		s.Payload = "test"
		if n := f.get("payload"); n != nil {
			if n.Kind != yaml.ScalarNode || n.Value == "" || len(n.Value) > generator.MaxSMSPayload {
				return p.fail(n, fmt.Sprintf("a text of 1 to %d bytes", generator.MaxSMSPayload), "payload is not an SMS text")
			}
			s.Payload = n.Value
		}
	case plan.ActMigrate:
		if err := p.require(f, "migrate", "to"); err != nil {
			return err
		}
		if s.To, err = p.workspaceRef(f.get("to"), "to"); err != nil {
			return err
		}
		if n := f.get("auto-detach"); n != nil {
			if s.AutoDetach, err = p.boolean(n, "auto-detach"); err != nil {
				return err
			}
		}
	case plan.ActAssign:
		if err := p.require(f, "assign", "sims"); err != nil {
			return err
		}
		if s.SIMs, err = p.target(f.get("sims"), "sims"); err != nil {
			return err
		}
	case plan.ActCreateEndpoint:
		return p.create(f, s)
	}
	return nil
}

func (p *scenarioParser) create(f fields, s *plan.Step) error {
	var err error
	s.Endpoint = plan.EndpointTemplate{IMEI: true}
	if n := f.get("endpoint"); n != nil {
		ef, err := p.mapping(n, "endpoint", "name", "status", "tags", "imei")
		if err != nil {
			return err
		}
		if s.Endpoint, err = p.template(ef); err != nil {
			return err
		}
	}
	if n := f.get("activate"); n != nil {
		activate, err := p.boolean(n, "activate")
		if err != nil {
			return err
		}
		s.KeepSIM = !activate
	}
	if n := f.get("factory-test"); n != nil {
		if s.FactoryTest, err = p.boolean(n, "factory-test"); err != nil {
			return err
		}
	}
	if !f.has("target") {
		if err := p.require(f, "create-endpoint without target", "workspace", "count"); err != nil {
			return err
		}
		if s.Workspace, err = p.workspaceRef(f.get("workspace"), "workspace"); err != nil {
			return err
		}
		if s.Count, err = p.integer(f.get("count"), "count", 1, 100_000); err != nil {
			return err
		}
	} else if f.has("workspace") || f.has("count") {
		k := "workspace"
		if !f.has(k) {
			k = "count"
		}
		return p.fail(f.keys[k], "either target (an endpoint per SIM) or workspace and count", "create-endpoint has both target and %s", k)
	}
	if n := f.get("into"); n != nil {
		name, err := p.name(n, "into")
		if err != nil {
			return err
		}
		if g, ok := p.groups[name]; ok && g.kind != plan.GroupEndpoints {
			return p.fail(n, "a new group name or an endpoint group", "%s is not an endpoint group", name)
		} else if !ok {
			p.groups[name] = groupInfo{kind: plan.GroupEndpoints}
		}
		s.Into = name
	}
	return nil
}

var targetRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*)(?:\[([0-9]+)(?::([0-9]+))?\])?$`)

// target reads "group", "group[i]" or "group[i:j]" of a declared group.
func (p *scenarioParser) target(n *yaml.Node, what string) (plan.Target, error) {
	var t plan.Target
	s, err := p.str(n, what)
	if err != nil {
		return t, err
	}
	m := targetRe.FindStringSubmatch(s)
	if m == nil {
		return t, p.fail(n, "a group name, group[i] or group[i:j]", "malformed %s %q", what, s)
	}
	t.Group = m[1]
	if _, ok := p.groups[t.Group]; !ok {
		return t, p.fail(n, "one of the groups declared so far: "+p.groupNames(), "unknown group %q", t.Group)
	}
	if m[2] != "" {
		t.From, _ = strconv.Atoi(m[2])
		t.To = t.From + 1
		if m[3] != "" {
			t.To, _ = strconv.Atoi(m[3])
			if t.To <= t.From {
				return t, p.fail(n, "group[i:j] with i < j", "empty range %q", s)
			}
		}
	}
	return t, nil
}

func (p *scenarioParser) groupNames() string {
	var names []string
	for k := range p.groups {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

func (p *scenarioParser) workspaceRef(n *yaml.Node, what string) (string, error) {
	s, err := p.str(n, what)
	if err != nil {
		return "", err
	}
	if p.workspaces[s] == nil {
		return "", p.fail(n, "one of the workspaces: "+keys(p.workspaces), "unknown workspace %q", s)
	}
	return s, nil
}

func (p *scenarioParser) knownActor(name string) bool {
	if name == "platform" {
		return true
	}
	for _, w := range p.workspaces {
		if contains(w.actors, name) {
			return true
		}
	}
	return false
}

var typeNames = func() map[string]generator.EventType {
	m := map[string]generator.EventType{}
	for _, l := range generator.EventTypes {
		m[strings.ReplaceAll(strings.ToLower(l.Description), " ", "-")] = generator.EventType(l.ID)
	}
	return m
}()

func (p *scenarioParser) expect(n *yaml.Node) (*plan.Expectation, error) {
	f, err := p.mapping(n, "expect", "types", "sequence", "count")
	if err != nil {
		return nil, err
	}
	x := &plan.Expectation{Pos: p.pos(n)}
	for _, k := range []string{"types", "sequence"} {
		ln := f.get(k)
		if ln == nil {
			continue
		}
		items, err := p.sequence(ln, "expect."+k)
		if err != nil {
			return nil, err
		}
		list := []generator.EventType{}
		for _, it := range items {
			t, err := p.eventType(it)
			if err != nil {
				return nil, err
			}
			list = append(list, t)
		}
		if k == "types" {
			x.Types = list
		} else {
			x.Sequence = list
		}
	}
	if n := f.get("count"); n != nil {
		if x.Count, err = p.integer(n, "expect.count", 0, 1<<30); err != nil {
			return nil, err
		}
		x.HasCount = true
	}
	return x, nil
}

func (p *scenarioParser) eventType(n *yaml.Node) (generator.EventType, error) {
	const hint = "an event type id such as 8 or a name such as sim-activation"
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		id, err := strconv.Atoi(n.Value)
		if _, ok := generator.EventType(id).Lookup(); err == nil && ok {
			return generator.EventType(id), nil
		}
		return 0, p.fail(n, hint, "emnify has no event type %s", n.Value)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if t, ok := typeNames[n.Value]; ok {
			return t, nil
		}
	}
	return 0, p.fail(n, hint, "unknown event type %s", kind(n))
}
