package scenarios

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Error is a scenario that cannot be used, with where and what:
// "FILE:LINE:COLUMN: what is wrong; what was expected".
type Error struct {
	File      string
	Line, Col int
	What      string
	Expected  string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.What)
	if e.Expected != "" {
		msg += "; expected " + e.Expected
	}
	return msg
}

// pos is a node's position as plan steps carry it.
func (p *parser) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", p.file, n.Line, n.Column) }

func (p *parser) fail(n *yaml.Node, expected, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Col: n.Column, What: fmt.Sprintf(format, args...), Expected: expected}
}
