package load

import (
	"strings"
	"testing"
)

// TestResponseReader reads responses of every framing, fed whole and cut
// at every byte, followed by the start of the next response (which it
// must leave alone).
func TestResponseReader(t *testing.T) {
	for _, c := range []struct {
		name, raw     string
		head          bool
		status, bytes int
		close         bool
		untilEOF      bool // complete only when the server closes
	}{
		{name: "length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, bytes: 5},
		{name: "empty", raw: "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nServer: x\r\n\r\n", status: 202},
		{name: "no reason", raw: "HTTP/1.1 204 \r\n\r\n", status: 204},
		{name: "chunked", raw: "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n", status: 500, bytes: 31},
		{name: "continue first", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", status: 201, bytes: 2},
		{name: "close", raw: "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!", status: 429, bytes: 3, close: true},
		{name: "HTTP/1.0", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, bytes: 2, close: true},
		{name: "HTTP/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", status: 200, bytes: 2},
		{name: "head", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", head: true, status: 200},
		{name: "to EOF", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, bytes: 9, close: true, untilEOF: true},
	} {
		for cut := 0; cut <= len(c.raw); cut++ {
			r := responseReader{head: c.head}
			next := "HTTP/1.1 200 OK\r\n"
			parts := []string{c.raw[:cut], c.raw[cut:] + next}
			if c.untilEOF {
				parts[1] = c.raw[cut:]
			}
			used, done := 0, false
			for _, p := range parts {
				n, d, err := r.feed([]byte(p))
				if err != nil {
					t.Fatalf("%s, cut at %d: %v", c.name, cut, err)
				}
				used, done = used+n, d
				if done {
					break
				}
			}
			if c.untilEOF {
				if done {
					t.Fatalf("%s: complete before the server closed", c.name)
				}
				done = r.eof()
			}
			if !done || used != len(c.raw) || r.status != c.status || r.bodyBytes != c.bytes || r.close != c.close {
				t.Fatalf("%s, cut at %d: done %v, used %d of %d, status %d, body %d, close %v; want status %d, body %d, close %v",
					c.name, cut, done, used, len(c.raw), r.status, r.bodyBytes, r.close, c.status, c.bytes, c.close)
			}
		}
	}
}

func TestResponseReader_Refuses(t *testing.T) {
	for _, raw := range []string{
		"HTTP/2 200\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
		"HTTP/1.1 2xx OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxLine) + "\r\n\r\n",
	} {
		var r responseReader
		if _, _, err := r.feed([]byte(raw)); err == nil {
			t.Errorf("%.40q: no error", raw)
		}
	}
}
