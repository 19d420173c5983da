package load

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/emnify-mock/emnify-mock/generator"
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

// NewBodies makes a pool of n events from the source; ids of shard i of
// k never meet those of another shard.
func NewBodies(next func() generator.Event, n int, shard, of int) (*Bodies, error) {
	b := &Bodies{base: 400_000_000_000_000, shard: uint64(shard), of: uint64(max(of, 1))}
	for range n {
		e := next()
		js := e.AppendJSON(nil)
		i := bytes.Index(js, []byte(`,"id":`))
		if i < 0 {
			return nil, fmt.Errorf("event without id: %s", js)
		}
		b.pool = append(b.pool, js)
		b.idAt = append(b.idAt, i+len(`,"id":`))
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
