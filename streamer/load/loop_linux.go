package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// At --rate 0 over plain HTTP on Linux, load sends the way wrk does: each
// of a few event loops owns its connections, writes a request with one
// write(2) and reads the answer when epoll(7) says it is there. Through
// Go's net package every answer costs a read that finds nothing, a park
// and a wake-up of the goroutine before the read that finds it; measured
// with bench/wrk.sh that was 1.3x wrk's CPU per request and 0.8x its
// throughput against the same receiver. HTTPS and other systems use the
// fasthttp workers (runner.go).

// closedLoop runs o at full speed on conns connections until o.Duration
// from start or ctx ends, and waits for the answers in flight. It returns
// false when it cannot serve o (not plain HTTP).
func closedLoop(ctx context.Context, o Options, rec *Recorder, conns int) (bool, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" {
		return false, nil
	}
	addr, err := reachable(hostPort(u), o.Timeout)
	if err != nil {
		return true, fmt.Errorf("load: %w", err)
	}
	head := requestHead(o, u)
	loops := min(runtime.GOMAXPROCS(0), conns)
	var wg sync.WaitGroup
	errs := make([]error, loops)
	for i := range loops {
		n := conns / loops
		if i < conns%loops {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runLoop(ctx, o, rec, addr, head, n)
		}()
	}
	wg.Wait()
	return true, errors.Join(errs...)
}

// reachable resolves hostPort to the first of its addresses that takes a
// connection (localhost may be 127.0.0.1 or ::1), or, if none does, to
// the first (its refusals are then the run's results).
func reachable(hostPort string, timeout time.Duration) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: %v", host, err)
	}
	portNum, err := net.LookupPort("tcp", port)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		a := &net.TCPAddr{IP: ip.IP, Port: portNum, Zone: ip.Zone}
		if c, err := net.DialTimeout("tcp", a.String(), min(timeout, time.Second)); err == nil {
			c.Close()
			return a, nil
		}
	}
	return &net.TCPAddr{IP: ips[0].IP, Port: portNum, Zone: ips[0].Zone}, nil
}

func hostPort(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}

// requestHead is the request line and the headers every request shares;
// each request adds its signature, length and body.
func requestHead(o Options, u *url.URL) []byte {
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"emnify-mock-load"}, "Host": {u.Host}}
	for k, vs := range o.Headers { // after the defaults: the user's win
		h[http.CanonicalHeaderKey(k)] = vs
	}
	b := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\n", o.Method, u.RequestURI(), h.Get("Host"))
	h.Del("Host")
	for k, vs := range h {
		for _, v := range vs {
			b = fmt.Appendf(b, "%s: %s\r\n", k, v)
		}
	}
	return b
}

// loopConn is one connection of a loop and the request on it.
type loopConn struct {
	fd         int // -1 when closed
	index      int
	connecting bool
	prepared   *prepared // the request, for large bodies
	waitOut    bool      // epoll watches for room to write
	out        []byte    // the request
	written    int
	resp       responseReader
	res        Result
	deadline   time.Time
}

// eventLoop is one loop's state.
type eventLoop struct {
	o       Options
	rec     *Recorder
	addr    *net.TCPAddr
	head    []byte
	epfd    int
	conns   []*loopConn
	batch   *batch
	start   time.Time
	ctx     context.Context
	stopped bool  // no new requests: the run is over
	busy    int   // connections with a request in flight
	prepare bool  // the bodies are large: prepare them
	idle    []int // connections whose next request is to be sent
}

func runLoop(ctx context.Context, o Options, rec *Recorder, addr *net.TCPAddr, head []byte, n int) error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("load: epoll: %w", err)
	}
	// The loop waits for its epoll set in the runtime's poller, as a
	// socket's reader does, not in a blocking epoll_wait: a goroutine in a
	// long system call has its processor handed off and taken back by the
	// runtime, several context switches per wait, which cost the
	// receiver beside it a tenth of its throughput.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return fmt.Errorf("load: epoll: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	defer ep.Close()
	waiter, err := ep.SyscallConn()
	if err != nil {
		return fmt.Errorf("load: epoll: %w", err)
	}
	l := &eventLoop{ctx: ctx, o: o, rec: rec, addr: addr, head: head, epfd: epfd, batch: newBatch(rec), start: rec.start,
		prepare: o.Size*o.Bodies.MeanEventBytes() >= preparedFrom}
	defer l.batch.flush()
	for i := range n {
		c := &loopConn{fd: -1, index: i}
		c.resp.head = o.Method == http.MethodHead
		l.conns = append(l.conns, c)
		l.idle = append(l.idle, i)
	}
	events := make([]syscall.EpollEvent, len(l.conns))
	buf := make([]byte, 64<<10)
	lastScan := time.Now()
	for {
		// Sending happens here, not where an answer is recorded, so that a
		// receiver that refuses at once does not nest sends without end.
		for len(l.idle) > 0 {
			i := l.idle[len(l.idle)-1]
			l.idle = l.idle[:len(l.idle)-1]
			l.send(i)
		}
		if l.busy == 0 {
			return nil
		}
		n := 0
		ep.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // timeouts are scanned at least that often
		werr := waiter.Read(func(fd uintptr) bool {
			n, err = syscall.EpollWait(int(fd), events, 0)
			return n > 0 || (err != nil && !errors.Is(err, syscall.EINTR))
		})
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("load: epoll: %w", err)
		}
		if werr != nil && !errors.Is(werr, os.ErrDeadlineExceeded) {
			return fmt.Errorf("load: epoll: %w", werr)
		}
		for _, ev := range events[:max(n, 0)] {
			l.ready(int(ev.Fd), ev.Events, buf)
		}
		if now := time.Now(); now.Sub(lastScan) > 100*time.Millisecond {
			lastScan = now
			for i, c := range l.conns {
				if c.fd >= 0 && !c.res.Sent.IsZero() && now.After(c.deadline) {
					l.fail(i, "timeout")
				}
			}
		}
	}
}

// send starts the next request on connection i, connecting first if need
// be, unless the run is over.
func (l *eventLoop) send(i int) {
	c := l.conns[i]
	now := time.Now()
	if l.stopped || now.Sub(l.start) >= l.o.Duration || l.ctx.Err() != nil {
		l.stopped = true
		if c.fd >= 0 {
			syscall.Close(c.fd)
			c.fd = -1
		}
		return
	}
	l.busy++
	c.res = Result{Intended: now, Sent: now, Events: l.o.Size}
	c.deadline = now.Add(l.o.Timeout)
	c.out, c.res.BytesOut = l.request(c)
	c.written = 0
	c.resp.reset()
	if c.fd < 0 {
		if err := l.connect(i); err != nil {
			l.fail(i, err.Error())
		}
		return
	}
	l.write(i)
}

// request makes connection c's next request, with a new body; it returns
// the body's length too. Unsigned, the body is made in place, behind its
// length, or, when large, only its ids are written anew.
func (l *eventLoop) request(c *loopConn) ([]byte, int) {
	b := append(c.out[:0], l.head...)
	if l.o.Signer != nil {
		body, release := l.o.Bodies.Body(l.o.Size)
		defer release()
		id, ts, sig := l.o.Signer.SignNew(body)
		b = append(append(append(b, "webhook-id: "...), id...), "\r\n"...)
		b = append(append(append(b, "webhook-timestamp: "...), ts...), "\r\n"...)
		b = append(append(append(b, "webhook-signature: "...), sig...), "\r\n"...)
		return append(contentLength(b, len(body)), body...), len(body)
	}
	bodies, size := l.o.Bodies, l.o.Size
	n := bodies.take(size)
	if l.prepare {
		if c.prepared == nil || !c.prepared.renew(bodies, n) {
			// Each connection has a window of its own (pool size permitting).
			c.prepared = bodies.prepare(l.head, uint64(c.index*size), n, size)
		}
		if c.prepared != nil {
			return c.prepared.req, c.prepared.body
		}
	}
	body := bodies.bodyLen(n, n, size)
	return bodies.appendBody(contentLength(b, body), n, n, size), body
}

func (l *eventLoop) connect(i int) error {
	c := l.conns[i]
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if ip4 := l.addr.IP.To4(); ip4 != nil {
		sa = &syscall.SockaddrInet4{Port: l.addr.Port, Addr: [4]byte(ip4)}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: l.addr.Port, Addr: [16]byte(l.addr.IP.To16())}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if err := syscall.Connect(fd, sa); err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		syscall.Close(fd)
		return fmt.Errorf("dial tcp %s: %w", l.addr, err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(i)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("epoll: %w", err)
	}
	c.fd, c.connecting, c.waitOut = fd, true, true
	return nil
}

// write writes what is left of connection i's request; the kernel takes
// a request of a few kilobytes at once.
func (l *eventLoop) write(i int) {
	c := l.conns[i]
	for c.written < len(c.out) {
		n, err := syscall.Write(c.fd, c.out[c.written:])
		if errors.Is(err, syscall.EAGAIN) {
			l.watch(i, true)
			return
		}
		if err != nil {
			l.fail(i, fmt.Sprintf("write tcp %s: %v", l.addr, err))
			return
		}
		c.written += n
	}
	l.watch(i, false)
}

// watch sets whether the loop waits for connection i to take more bytes;
// usually it need not (a system call saved per request).
func (l *eventLoop) watch(i int, out bool) {
	c := l.conns[i]
	if c.waitOut == out {
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i)}
	if out {
		ev.Events |= syscall.EPOLLOUT
	}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev)
	c.waitOut = out
}

// ready handles epoll's news about connection i.
func (l *eventLoop) ready(i int, events uint32, buf []byte) {
	c := l.conns[i]
	if c.fd < 0 {
		return
	}
	if c.connecting {
		if events&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return
		}
		c.connecting = false
		if errno, _ := syscall.GetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_ERROR); errno != 0 {
			l.fail(i, fmt.Sprintf("dial tcp %s: %v", l.addr, syscall.Errno(errno)))
			return
		}
		l.write(i)
		return
	}
	if events&syscall.EPOLLOUT != 0 && c.written < len(c.out) {
		l.write(i)
	}
	if events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		l.read(i, buf)
	}
}

// read reads connection i's answer as far as it has come.
func (l *eventLoop) read(i int, buf []byte) {
	c := l.conns[i]
	for c.fd >= 0 {
		n, err := syscall.Read(c.fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return
		case err != nil:
			l.fail(i, fmt.Sprintf("read tcp %s: %v", l.addr, err))
			return
		case n == 0: // the server closed
			if c.resp.eof() {
				l.answered(i, true)
			} else {
				l.fail(i, "the server closed the connection")
			}
			return
		}
		used, done, err := c.resp.feed(buf[:n])
		switch {
		case err != nil:
			l.fail(i, err.Error())
			return
		case done && used < n:
			l.fail(i, "the server answered more than asked")
			return
		case done:
			l.answered(i, c.resp.close)
			return
		}
	}
}

// answered records connection i's answer and sends the next request.
func (l *eventLoop) answered(i int, closeConn bool) {
	c := l.conns[i]
	c.res.Done = time.Now()
	c.res.Status, c.res.BytesIn = c.resp.status, c.resp.bodyBytes
	l.record(i, closeConn)
}

// fail records connection i's request as failed and closes it.
func (l *eventLoop) fail(i int, msg string) {
	c := l.conns[i]
	c.res.Done = time.Now()
	c.res.Err = msg
	l.record(i, true)
}

func (l *eventLoop) record(i int, closeConn bool) {
	c := l.conns[i]
	if closeConn && c.fd >= 0 {
		syscall.Close(c.fd) // also leaves the epoll set
		c.fd = -1
	}
	if l.o.Observe != nil {
		l.o.Observe(c.res)
	}
	l.batch.add(c.res)
	l.busy--
	c.res.Sent = time.Time{}
	l.idle = append(l.idle, i)
}
