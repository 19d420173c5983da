package scenarios

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// parser reads one scenario file. Every helper names the node it refuses,
// so every message carries its line and column.
type parser struct {
	file string
}

// fields is a YAML mapping checked against the keys it may hold.
type fields struct {
	node *yaml.Node
	m    map[string]*yaml.Node // value nodes
	keys map[string]*yaml.Node // key nodes, for messages
}

func (f fields) get(k string) *yaml.Node { return f.m[k] }
func (f fields) has(k string) bool       { return f.m[k] != nil }

// mapping checks that n is a mapping whose keys are all allowed and
// distinct.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) (fields, error) {
	f := fields{node: n, m: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		return f, p.fail(n, "a mapping of "+strings.Join(allowed, ", "), "%s is %s", what, kind(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return f, p.fail(k, "a plain key", "%s has a %s as a key", what, kind(k))
		}
		if !contains(allowed, k.Value) {
			return f, p.fail(k, "one of "+strings.Join(allowed, ", "), "unknown key %q in %s", k.Value, what)
		}
		if f.m[k.Value] != nil {
			return f, p.fail(k, "each key once", "duplicate key %q in %s", k.Value, what)
		}
		f.m[k.Value], f.keys[k.Value] = v, k
	}
	return f, nil
}

// require fails when a key is missing from the mapping.
func (p *parser) require(f fields, what string, keys ...string) error {
	for _, k := range keys {
		if !f.has(k) {
			return p.fail(f.node, fmt.Sprintf("%q (see scenarios/README.md)", k), "%s is missing %q", what, k)
		}
	}
	return nil
}

func (p *parser) sequence(n *yaml.Node, what string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.fail(n, "a list", "%s is %s", what, kind(n))
	}
	return n.Content, nil
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", p.fail(n, "a string", "%s is %s", what, kind(n))
	}
	return n.Value, nil
}

var nameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// name reads a reference name: a letter, then letters, digits, - or _.
func (p *parser) name(n *yaml.Node, what string) (string, error) {
	s, err := p.str(n, what)
	if err == nil && !nameRe.MatchString(s) {
		err = p.fail(n, "a letter followed by letters, digits, - or _", "%s %q is not a valid name", what, s)
	}
	return s, err
}

func (p *parser) integer(n *yaml.Node, what string, min, max int) (int, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, p.fail(n, fmt.Sprintf("a whole number from %d to %d", min, max), "%s is %s", what, kind(n))
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v < int64(min) || v > int64(max) {
		return 0, p.fail(n, fmt.Sprintf("a whole number from %d to %d", min, max), "%s %s is out of range", what, n.Value)
	}
	return int(v), nil
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.fail(n, "true or false", "%s is %s", what, kind(n))
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
}

const durationHint = "a duration such as 90s, 10m, 1h30m or 2d"

// duration reads a non-negative duration in Go's syntax, plus "d" for days.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.fail(n, durationHint, "%s is %s", what, kind(n))
	}
	s := n.Value
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && !strings.ContainsAny(days, "hmsuµn") {
		var x float64
		x, err = strconv.ParseFloat(days, 64)
		if err == nil && math.Abs(x) > 100_000 {
			err = fmt.Errorf("too long")
		}
		d = time.Duration(x * float64(24*time.Hour))
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		return 0, p.fail(n, durationHint, "malformed duration %q for %s", s, what)
	case d < 0:
		return 0, p.fail(n, "a duration of 0s or more", "negative duration %q for %s", s, what)
	}
	return d, nil
}

var sizeRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB)?$`)

// size reads an amount of data: bytes, or with B, KB, MB or GB (powers of
// 1024).
func (p *parser) size(n *yaml.Node, what string) (int64, error) {
	const hint = "an amount of data such as 2048, 60KB or 1.5MB"
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.fail(n, hint, "%s is %s", what, kind(n))
	}
	m := sizeRe.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(n.Value)))
	if m == nil {
		return 0, p.fail(n, hint, "malformed amount of data %q for %s", n.Value, what)
	}
	x, _ := strconv.ParseFloat(m[1], 64)
	x *= map[string]float64{"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m[2]]
	if x > 1<<50 {
		return 0, p.fail(n, hint, "amount of data %q for %s is too large", n.Value, what)
	}
	return int64(x), nil
}

func (p *parser) instant(n *yaml.Node, what string) (time.Time, error) {
	const hint = "an RFC 3339 instant such as 2025-01-06T08:00:00Z"
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
		return time.Time{}, p.fail(n, hint, "%s is %s", what, kind(n))
	}
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		return time.Time{}, p.fail(n, hint, "malformed instant %q for %s", n.Value, what)
	}
	return t, nil
}

func (p *parser) prefix(n *yaml.Node, what string) (netip.Prefix, error) {
	const hint = "a private IPv4 CIDR from /8 to /30, such as 10.191.216.0/24"
	s, err := p.str(n, what)
	if err != nil {
		return netip.Prefix{}, err
	}
	pf, perr := netip.ParsePrefix(s)
	if perr != nil || !pf.Addr().Is4() || !pf.Addr().IsPrivate() || pf.Bits() < 8 || pf.Bits() > 30 {
		return netip.Prefix{}, p.fail(n, hint, "%s %q is not usable", what, s)
	}
	return pf, nil
}

// kind describes a node for messages: "a list", "a mapping", "the number 5".
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "empty"
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return fmt.Sprintf("%q", n.Value)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
