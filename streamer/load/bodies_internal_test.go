package load

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/emnify-mock/emnify-mock/source"
)

func internalBodies(t testing.TB) *Bodies {
	t.Helper()
	b, err := NewBodies(source.Churn{Seed: 3}, 7, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	b.base = 999_999_999_999_000 // ids grow to 16 digits within the test
	return b
}

// ids returns the ids of a body of size events, checking it is JSON.
func ids(t *testing.T, body []byte, size int) []uint64 {
	t.Helper()
	var events []struct{ ID uint64 }
	if size == 1 {
		body = append(append([]byte("["), body...), ']')
	}
	if err := json.Unmarshal(body, &events); err != nil || len(events) != size {
		t.Fatalf("%d events of %d, %v: %.80s", len(events), size, err, body)
	}
	var out []uint64
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

// TestBodies_LengthKnownAhead: the length said before a body is made is
// its length, at every size, across the end of the pool, with ids of the
// window's or of other events.
func TestBodies_LengthKnownAhead(t *testing.T) {
	b := internalBodies(t)
	for _, size := range []int{1, 2, 5, 7, 8, 1000} {
		n := b.take(size)
		for _, from := range []uint64{n, 3} {
			body := b.appendBody(nil, from, n, size)
			if got := b.bodyLen(from, n, size); got != len(body) {
				t.Fatalf("size %d: said %d bytes, made %d", size, got, len(body))
			}
			got := ids(t, body, size)
			if got[0] != b.id(n) || got[size-1] != b.id(n+uint64(size-1)) {
				t.Fatalf("size %d: ids %d..%d, want %d..%d", size, got[0], got[size-1], b.id(n), b.id(n+uint64(size-1)))
			}
		}
	}
}

// TestPrepared_RenewsIDsOnly: a prepared request gets new ids each time,
// its length right, and is prepared again when the ids grow a digit.
func TestPrepared_RenewsIDsOnly(t *testing.T) {
	b := internalBodies(t)
	head := []byte("POST / HTTP/1.1\r\nHost: x\r\n")
	const size = 40
	p := b.prepare(head, 5, b.take(size), size)
	for range 3 {
		n := b.take(size)
		if !p.renew(b, n) {
			t.Fatal("15-digit ids did not fit")
		}
		i := bytes.Index(p.req, []byte("\r\n\r\n")) + 4
		if !bytes.HasPrefix(p.req, head) || len(p.req)-i != p.body || !bytes.Contains(p.req[:i], contentLength(nil, p.body)) {
			t.Fatalf("request head or length wrong: %q, body %d of %d", p.req[:i], len(p.req)-i, p.body)
		}
		if got := ids(t, p.req[i:], size); got[0] != b.id(n) || got[size-1] != b.id(n+size-1) {
			t.Fatalf("ids %d..%d, want %d..%d", got[0], got[size-1], b.id(n), b.id(n+size-1))
		}
	}
	for digits(b.id(b.next.Load()+size)) == 15 {
		b.take(size)
	}
	n := b.take(size) // crosses from 15 to 16 digits
	if p.renew(b, n) || b.prepare(head, 5, n, size) != nil {
		t.Fatal("ids of 15 and 16 digits in one prepared body")
	}
	n = b.take(size)
	p = b.prepare(head, 5, n, size)
	if p == nil || p.width != 16 {
		t.Fatal("not prepared again with 16-digit ids")
	}
	if got := ids(t, p.req[bytes.Index(p.req, []byte("\r\n\r\n"))+4:], size); got[0] != b.id(n) {
		t.Fatalf("id %d, want %d", got[0], b.id(n))
	}
}

// BenchmarkRenew: new ids for a prepared body of 1,000 events, the work
// each large request of load --size 1000 does on its own.
func BenchmarkRenew(b *testing.B) {
	bodies := internalBodies(b)
	const size = 1000
	head := []byte("POST / HTTP/1.1\r\nHost: x\r\n")
	var p *prepared
	for p == nil {
		p = bodies.prepare(head, 0, bodies.take(size), size)
	}
	for b.Loop() {
		for !p.renew(bodies, bodies.take(size)) {
			if q := bodies.prepare(head, 0, bodies.take(size), size); q != nil {
				p = q
			}
		}
	}
}
