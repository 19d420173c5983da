package load

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// The load client is fasthttp's HostClient, not net/http's: on a shared
// machine the generator's own CPU per request decides how much is left for
// the receiver under test. fasthttp reuses one request and one response
// per worker and runs no goroutines per connection; measured with
// bench/load.sh, that is about half the CPU per request of net/http.

// newClient returns a client for the URL's host with up to conns
// connections.
func newClient(rawURL string, conns int, timeout time.Duration) (*fasthttp.HostClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("load: %q is not an http(s) URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &fasthttp.HostClient{
		Addr:         addr,
		IsTLS:        u.Scheme == "https",
		MaxConns:     conns,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		// A failed request is a result to report, not something to retry
		// behind the report's back (fasthttp retries idempotent methods).
		MaxIdemponentCallAttempts: 1,
		NoDefaultUserAgentHeader:  true,
		Dial: func(addr string) (net.Conn, error) {
			return fasthttp.DialDualStackTimeout(addr, timeout) // [::1] too
		},
	}, nil
}

// sender is one worker's request and response, reused for every send.
type sender struct {
	o    *Options
	c    *fasthttp.HostClient
	req  *fasthttp.Request
	resp *fasthttp.Response
}

func (o *Options) newSender(c *fasthttp.HostClient) *sender {
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(o.URL)
	req.Header.SetMethod(o.Method)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent("emnify-mock-load")
	for k, vs := range o.Headers { // after the defaults: the user's win
		for i, v := range vs {
			if i == 0 {
				req.Header.Set(k, v)
			} else {
				req.Header.Add(k, v)
			}
		}
	}
	return &sender{o: o, c: c, req: req, resp: fasthttp.AcquireResponse()}
}

func (s *sender) close() {
	fasthttp.ReleaseRequest(s.req)
	fasthttp.ReleaseResponse(s.resp)
}

// hit sends one request and returns its result.
func (s *sender) hit(intended time.Time) Result {
	body, release := s.o.Bodies.Body(s.o.Size)
	defer release()
	res := Result{Intended: intended, Events: s.o.Size, BytesOut: len(body)}
	s.req.SetBodyRaw(body)
	if s.o.Signer != nil {
		id, ts, sig := s.o.Signer.SignNew(body)
		s.req.Header.Set("webhook-id", id)
		s.req.Header.Set("webhook-timestamp", ts)
		s.req.Header.Set("webhook-signature", sig)
	}
	res.Sent = time.Now()
	err := s.c.DoTimeout(s.req, s.resp, s.o.Timeout)
	res.Done = time.Now()
	if err != nil {
		res.Err = err.Error()
	} else {
		res.Status, res.BytesIn = s.resp.StatusCode(), len(s.resp.Body())
	}
	if s.o.Observe != nil {
		s.o.Observe(res)
	}
	return res
}
