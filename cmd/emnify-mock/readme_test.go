package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The README's command lines are run, so a renamed flag, subcommand or
// folder fails the build: every emnify-mock command in a sh block is run
// for real when it is quick and needs nothing running (generate, check,
// scenarios, version), and its flags are checked otherwise, up to an
// appended --help. readme_walkthrough_test.go runs the rest that can run
// here for real: push, load and generate against a started serve and the
// reference consumer, and the curl walkthroughs. What stays flag-checked
// only: serve (the tests start it), verify (TestVerify runs it), replay and
// push --resume (they need a failed run), report merge (its reader's files).

// readmeCommand is one emnify-mock command line of the README.
type readmeCommand struct {
	line     int
	args     []string
	piped    bool   // reads what a pipe gives it
	redirect string // the file its output goes to (> FILE)
	comment  string // what follows # on its line
}

// A command starts the line or follows a pipe, &&, ; or $(.
var commandStart = regexp.MustCompile(`(?:^\s*|[;&|(]\s*)(?:go run \./cmd/emnify-mock|emnify-mock)\s+`)

// readmeCommands finds the emnify-mock commands in the sh blocks of a
// README: a command ends at a pipe, a redirect, &, ; or a comment.
func readmeCommands(text string) ([]readmeCommand, error) {
	var out []readmeCommand
	inSh, n := false, 0
	sc := bufio.NewScanner(strings.NewReader(text))
	var pending string
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = pending+line, ""
		for _, loc := range commandStart.FindAllStringIndex(line, -1) {
			rest, redirect, comment := line[loc[1]:], "", ""
			if i := strings.IndexByte(line, '#'); i > loc[1] {
				comment = strings.TrimSpace(line[i+1:])
			}
			if i := strings.IndexAny(rest, "|>&;#"); i >= 0 {
				if rest[i] == '>' {
					redirect = strings.Fields(rest[i+1:] + " x")[0]
				}
				rest = rest[:i]
			}
			args, err := shellWords(rest)
			if err != nil {
				return nil, fmt.Errorf("README line %d: %v", n, err)
			}
			if len(args) > 0 {
				piped := strings.HasSuffix(strings.TrimSpace(line[:loc[0]+1]), "|") && !strings.HasSuffix(strings.TrimSpace(line[:loc[0]+1]), "||")
				out = append(out, readmeCommand{n, args, piped, redirect, comment})
			}
		}
	}
	return out, sc.Err()
}

// shellWords splits as sh does for the README's simple lines: spaces,
// single and double quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// checkReadmeCommand runs one command as described above and says what
// went wrong, or nil.
func checkReadmeCommand(c readmeCommand) error {
	args := c.args
	var expanded []string
	for _, a := range args {
		if strings.ContainsAny(a, "*?") && !strings.HasPrefix(a, "-") {
			matches, _ := filepath.Glob(a)
			if len(matches) == 0 {
				return fmt.Errorf("README line %d: %s matches no file", c.line, a)
			}
			expanded = append(expanded, matches...)
			continue
		}
		expanded = append(expanded, a)
	}
	args = expanded
	if len(args) > 1 && args[0] == "scenarios" && args[1] == "validate" {
		args = args[:2] // the file is the reader's own
	}
	if real(args) && !c.piped {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			return fmt.Errorf("README line %d: emnify-mock %s: exit %d: %s", c.line, strings.Join(args, " "), code, stderr.String())
		}
		return nil
	}
	var stdout, stderr strings.Builder
	if code := run(context.Background(), append(args, "--help"), &stdout, &stderr); code != 0 {
		return fmt.Errorf("README line %d: emnify-mock %s: its flags are refused: %s", c.line, strings.Join(args, " "), stderr.String())
	}
	return nil
}

// real says whether a command is quick and self-contained enough to run.
func real(args []string) bool {
	switch args[0] {
	case "scenarios":
		return len(args) > 1 && args[1] != "validate" // validate names the reader's own file
	case "check", "version", "--version":
		return true
	case "generate":
		for i, a := range args {
			if a == "--from" { // a file of the reader's, or a running serve
				return false
			}
			if a == "--count" && i+1 < len(args) {
				n, err := strconv.Atoi(args[i+1])
				return err == nil && n <= 100_000
			}
		}
		return true
	}
	return false
}

func TestREADME_CommandsRun(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeCommands(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 20 {
		t.Fatalf("found %d emnify-mock commands in the README; the extraction is broken", len(cmds))
	}
	t.Chdir(filepath.Join("..", ".."))
	for _, c := range cmds {
		if err := checkReadmeCommand(c); err != nil {
			t.Error(err)
		}
	}
}

// TestREADME_BrokenCommandsFail: the check catches a renamed flag, a
// missing folder and an unknown subcommand.
func TestREADME_BrokenCommandsFail(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	broken := "```sh\n" +
		"go run ./cmd/emnify-mock push --to http://127.0.0.1:9000/webhook --cnt 10\n" +
		"go run ./cmd/emnify-mock check no/such/folder/*.ndjson\n" +
		"emnify-mock genrate --count 5 | jq .\n" +
		"```\n"
	cmds, err := readmeCommands(broken)
	if err != nil || len(cmds) != 3 {
		t.Fatalf("%d commands, %v", len(cmds), err)
	}
	for _, c := range cmds {
		if err := checkReadmeCommand(c); err == nil {
			t.Errorf("README line %d (%v) passed", c.line, c.args)
		}
	}
}
