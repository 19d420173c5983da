package load

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/emnify-mock/emnify-mock/source"
)

// Bodies hands out request bodies of realistic events with unique ids:
// events are made once, ahead, and each use rewrites the id in a copy, so
// preparing a body costs a copy, not a generation.
type Bodies struct {
	pool  [][]byte
	idAt  []int // offset of the id's digits in each pooled event
	next  atomic.Uint64
	base  uint64 // 15-digit ids: base + counter·shards + shard
	shard uint64
	of    uint64
	bufs  sync.Pool
}

// NewBodies makes a pool of up to n events from the source, which are
// then used in turn; ids of shard i of k never meet those of another
// shard.
func NewBodies(src source.Source, n int, shard, of int) (*Bodies, error) {
	b := &Bodies{base: 400_000_000_000_000, shard: uint64(shard), of: uint64(max(of, 1))}
	err := source.Take(src, int64(n)).Each(func(e source.Event) error {
		at := idDigits(e.JSON)
		if at < 0 {
			return fmt.Errorf("event %d: its id is not written as \"id\":N, which the load rewrites per request", e.ID)
		}
		b.pool = append(b.pool, e.JSON)
		b.idAt = append(b.idAt, at)
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(b.pool) == 0:
		return nil, fmt.Errorf("the source gave no events")
	}
	return b, nil
}

// Body returns a body of size events (an object for 1, else an array) and
// a release function to call once it is sent.
func (b *Bodies) Body(size int) ([]byte, func()) {
	buf, _ := b.bufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	out := (*buf)[:0]
	if size > 1 {
		out = append(out, '[')
	}
	for i := range size {
		n := b.next.Add(1) - 1
		ev := b.pool[n%uint64(len(b.pool))]
		at := b.idAt[n%uint64(len(b.pool))]
		if i > 0 {
			out = append(out, ',')
		}
		end := bytes.IndexByte(ev[at:], ',') + at
		out = append(out, ev[:at]...)
		out = strconv.AppendUint(out, b.base+n*b.of+b.shard, 10)
		out = append(out, ev[end:]...)
	}
	if size > 1 {
		out = append(out, ']')
	}
	*buf = out
	return out, func() { b.bufs.Put(buf) }
}

// idDigits returns the offset of the top-level id's digits in a compact
// event object, or -1.
func idDigits(js []byte) int {
	depth, inString := 0, false
	for i := 0; i < len(js); i++ {
		c := js[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			if depth == 1 && bytes.HasPrefix(js[i:], []byte(`"id":`)) && i+5 < len(js) && js[i+5] >= '0' && js[i+5] <= '9' {
				return i + 5
			}
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return -1
}

// MeanEventBytes is the mean size of the events bodies are made of.
func (b *Bodies) MeanEventBytes() int {
	if len(b.pool) == 0 {
		return 0
	}
	total := 0
	for _, e := range b.pool {
		total += len(e)
	}
	return total / len(b.pool)
}
