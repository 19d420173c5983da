package load

import (
	"bytes"
	"errors"
	"strconv"
)

// responseReader reads HTTP/1.1 responses from a byte stream fed to it in
// pieces as they arrive, keeping only the status, the body's length and
// whether the connection stays open; the body itself is skipped. It serves
// the closed loop (loop_linux.go), which reads sockets itself.
type responseReader struct {
	head      bool   // the requests are HEAD: responses have no body
	line      []byte // an incomplete line kept across feeds
	state     int
	status    int
	length    int64 // body bytes still to skip (stateBody, stateChunk)
	chunked   bool
	close     bool
	bodyBytes int
}

const (
	stateStatus   = iota // the status line
	stateHeaders         // header lines, up to the empty one
	stateBody            // Content-Length bytes
	stateToEOF           // no length: the body ends when the server closes
	stateChunkLen        // a chunk's size line
	stateChunk           // a chunk's bytes and its CRLF
	stateTrailer         // trailer lines after the last chunk
	stateDone
)

// maxLine bounds a status, header or chunk-size line.
const maxLine = 64 << 10

var errMalformed = errors.New("malformed HTTP response")

// feed reads p and returns how many bytes of it belong to the response,
// and whether the response is complete. Bytes after a complete response
// are not consumed.
func (r *responseReader) feed(p []byte) (int, bool, error) {
	used := 0
	for used < len(p) && r.state != stateDone {
		switch r.state {
		case stateBody, stateChunk, stateToEOF:
			n := len(p) - used
			if r.state != stateToEOF {
				n = int(min(int64(n), r.length))
				r.length -= int64(n)
			}
			used += n
			r.bodyBytes += n
			if r.state == stateBody && r.length == 0 {
				r.state = stateDone
			} else if r.state == stateChunk && r.length == 0 {
				r.state = stateChunkLen
			}
			continue
		}
		i := bytes.IndexByte(p[used:], '\n')
		if i < 0 {
			if len(r.line)+len(p)-used > maxLine {
				return used, false, errMalformed
			}
			r.line = append(r.line, p[used:]...)
			return len(p), false, nil
		}
		line := p[used : used+i+1]
		if len(r.line) > 0 {
			r.line = append(r.line, line...)
			line = r.line
		}
		used += i + 1
		if len(line) > maxLine {
			return used, false, errMalformed
		}
		err := r.readLine(bytes.TrimRight(line, "\r\n"))
		r.line = r.line[:0]
		if err != nil {
			return used, false, err
		}
	}
	return used, r.state == stateDone, nil
}

// eof tells the reader that the server closed the connection; it returns
// whether that completes the response.
func (r *responseReader) eof() bool {
	if r.state == stateToEOF {
		r.state = stateDone
	}
	return r.state == stateDone
}

func (r *responseReader) readLine(line []byte) error {
	switch r.state {
	case stateStatus:
		// HTTP/1.1 200 OK
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return errMalformed
		}
		code, err := strconv.Atoi(string(line[9:12]))
		if err != nil || code < 100 {
			return errMalformed
		}
		r.status, r.state = code, stateHeaders
		r.close = line[7] == '0' // HTTP/1.0 closes unless told otherwise
		r.length, r.chunked = -1, false
	case stateHeaders:
		if len(line) > 0 {
			return r.header(line)
		}
		switch {
		case r.status < 200: // 100 Continue and the like: the real answer follows
			r.state = stateStatus
		case r.head || r.status == 204 || r.status == 304:
			r.state = stateDone
		case r.chunked:
			r.state = stateChunkLen
		case r.length >= 0:
			r.state = stateBody
			if r.length == 0 {
				r.state = stateDone
			}
		default:
			r.state, r.close = stateToEOF, true
		}
	case stateChunkLen:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return errMalformed
		}
		if n == 0 {
			r.state = stateTrailer
		} else {
			r.state, r.length = stateChunk, n+2 // and its CRLF
			r.bodyBytes -= 2
		}
	case stateTrailer:
		if len(line) == 0 {
			r.state = stateDone
		}
	}
	return nil
}

func (r *responseReader) header(line []byte) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return errMalformed
	}
	name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 {
			return errMalformed
		}
		r.length = n
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		r.chunked = bytes.EqualFold(value, []byte("chunked"))
	case bytes.EqualFold(name, []byte("Connection")):
		if bytes.EqualFold(value, []byte("close")) {
			r.close = true
		} else if bytes.EqualFold(value, []byte("keep-alive")) {
			r.close = false
		}
	}
	return nil
}

// reset makes the reader ready for the next response.
func (r *responseReader) reset() {
	*r = responseReader{head: r.head, line: r.line[:0]}
}
