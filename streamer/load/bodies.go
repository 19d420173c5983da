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
	idEnd []int // and the offset after them
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
		b.idEnd = append(b.idEnd, at+bytes.IndexByte(e.JSON[at:], ','))
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
	n := b.take(size)
	*buf = b.appendBody((*buf)[:0], n, n, size)
	return *buf, func() { b.bufs.Put(buf) }
}

// take reserves the next size events and returns the first one's number.
func (b *Bodies) take(size int) uint64 {
	return b.next.Add(uint64(size)) - uint64(size)
}

func (b *Bodies) id(n uint64) uint64 { return b.base + n*b.of + b.shard }

// bodyLen is the length of the body of size events from the pool's
// from-th on, with ids from the n-th on, known before it is made, so that
// a request can be written in one go.
func (b *Bodies) bodyLen(from, n uint64, size int) int {
	total := 0
	if size > 1 {
		total = 2 + size - 1 // brackets and commas
	}
	for i := range uint64(size) {
		k := (from + i) % uint64(len(b.pool))
		total += len(b.pool[k]) - (b.idEnd[k] - b.idAt[k]) + digits(b.id(n+i))
	}
	return total
}

// appendBody appends the body of size events from the pool's from-th on,
// with ids from the n-th on, to out.
func (b *Bodies) appendBody(out []byte, from, n uint64, size int) []byte {
	if size > 1 {
		out = append(out, '[')
	}
	for i := range uint64(size) {
		k := (from + i) % uint64(len(b.pool))
		ev := b.pool[k]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, ev[:b.idAt[k]]...)
		out = strconv.AppendUint(out, b.id(n+i), 10)
		out = append(out, ev[b.idEnd[k]:]...)
	}
	if size > 1 {
		out = append(out, ']')
	}
	return out
}

func digits(v uint64) int {
	n := 1
	for ; v >= 10; v /= 10 {
		n++
	}
	return n
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

// A prepared request carries a large body that is made once, with the
// events of a window of the pool; each use only writes new ids into it.
// At --size 1000 making each body anew was a 660 KB copy per request,
// half the generator's CPU (bench/wrk.sh).
type prepared struct {
	req   []byte // the request: head, length, body
	body  int    // the body's length
	slots []int  // where each event's id digits are in req
	width int    // how many digits every id has
}

// preparedFrom is the body size from which requests are prepared: below
// it a body is made anew each time, from every event of the pool in turn.
const preparedFrom = 64 << 10

// prepare makes a request of head (up to its headers' end, without the
// length) and a body of size events from the pool's from-th on, with ids
// from the n-th on; nil when those ids differ in length.
func (b *Bodies) prepare(head []byte, from, n uint64, size int) *prepared {
	p := &prepared{width: digits(b.id(n))}
	if digits(b.id(n+uint64(size)-1)) != p.width {
		return nil
	}
	p.body = b.bodyLen(from, n, size)
	p.req = b.appendBody(contentLength(append([]byte(nil), head...), p.body), from, n, size)
	at := len(p.req) - p.body
	if size > 1 {
		at++ // [
	}
	for i := range uint64(size) {
		k := (from + i) % uint64(len(b.pool))
		p.slots = append(p.slots, at+b.idAt[k])
		at += len(b.pool[k]) - (b.idEnd[k] - b.idAt[k]) + p.width + 1 // and a comma
	}
	return p
}

// renew writes the ids from the n-th on into p's slots; it returns false,
// leaving p as it was, when they do not fit.
func (p *prepared) renew(b *Bodies, n uint64) bool {
	if digits(b.id(n)) != p.width || digits(b.id(n+uint64(len(p.slots))-1)) != p.width {
		return false
	}
	for i, at := range p.slots {
		id := b.id(n + uint64(i))
		for j := at + p.width - 1; j >= at; j-- {
			p.req[j] = byte('0' + id%10)
			id /= 10
		}
	}
	return true
}

func contentLength(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n\r\n"...)
}
