package source

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Error is input that is not JSON, at its place.
type Error struct {
	Name      string
	Line, Col int
	Err       error
}

func (e *Error) Error() string {
	if e.Col == 0 {
		return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.Name, e.Line, e.Col, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ReadJSON reads JSON values from r: NDJSON, one JSON array, or values one
// after another. It calls f with each value and the line it starts on;
// input that is not JSON is an *Error at its line and column. Memory stays
// flat however long the input.
func ReadJSON(r io.Reader, name string, f func(raw json.RawMessage, line int) error) error {
	lines := &lineCounter{r: bufio.NewReaderSize(r, 1<<16)}
	dec := json.NewDecoder(lines)
	tok, err := peekByte(lines)
	base := lines.read // white space before the decoder's first byte
	// A syntax error's offset counts the bytes the decoder's scanner has
	// seen, which leaves out an array's brackets and commas (and the white
	// space before them): the bytes scanned before the value in hand and
	// where its scan began place it in the input.
	var scanned, scanStart int64
	notJSON := func(err error) error {
		off := base + dec.InputOffset()
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			off = base + scanStart + syn.Offset - scanned - 1
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			off = lines.lastByte() // the input ends inside a value: say where
		}
		line, col := lines.position(off)
		return &Error{Name: name, Line: line, Col: col, Err: fmt.Errorf("not JSON: %w", err)}
	}
	inArray := false
	if err == nil && tok == '[' {
		dec.Token()
		inArray = true
	}
	for first := true; ; first = false {
		if inArray && !dec.More() {
			if end, err := dec.Token(); err != nil || end != json.Delim(']') {
				return notJSON(fmt.Errorf("the array does not end (%v)", or(fmt.Sprint(err), fmt.Sprint(end))))
			}
			return nil
		}
		scanStart = dec.InputOffset()
		if inArray && !first {
			scanStart++ // the comma More stopped at
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) && inArray {
			err = io.ErrUnexpectedEOF // inside an array, the input may not end
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return notJSON(err)
		}
		// The value ends where the decoder is; RawMessage has no
		// surrounding white space.
		start := base + dec.InputOffset() - int64(len(raw))
		line, _ := lines.position(start)
		if err := f(raw, line); err != nil {
			return err
		}
		scanned += dec.InputOffset() - scanStart
		lines.forget(base + dec.InputOffset())
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// peekByte returns the first byte that is not white space, unread.
func peekByte(l *lineCounter) (byte, error) {
	for {
		b, err := l.r.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			l.Read(make([]byte, 1))
		default:
			return b[0], nil
		}
	}
}

// lineCounter remembers where the lines not yet passed start, so a
// decoder's byte offset can be told as a line and column.
type lineCounter struct {
	r        *bufio.Reader
	read     int64
	passed   int     // lines before starts[0]'s line that were forgotten
	starts   []int64 // offsets of the lines after the first one still known
	endsLine bool    // the last byte read is a newline
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.starts = append(l.starts, l.read+int64(i)+1)
		}
	}
	l.read += int64(n)
	if n > 0 {
		l.endsLine = p[n-1] == '\n'
	}
	return n, err
}

// forget drops the line starts at or before off, once nothing before off
// will be asked for again.
func (l *lineCounter) forget(off int64) {
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off })
	if i > 1 {
		l.passed += i - 1
		l.starts = append(l.starts[:0], l.starts[i-1:]...)
	}
}

// lastByte returns the offset of the last byte that is not a line end.
func (l *lineCounter) lastByte() int64 {
	if l.endsLine {
		return l.read - 2
	}
	return l.read - 1
}

// position returns the 1-based line and column of a byte offset.
func (l *lineCounter) position(off int64) (line, col int) {
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off })
	lineStart := int64(0)
	if i > 0 {
		lineStart = l.starts[i-1]
	}
	return l.passed + i + 1, int(off-lineStart) + 1
}
