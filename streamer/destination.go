package streamer

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Destinations is where deliveries may go: http and https URLs with a host,
// to loopback hosts only unless the host is allowed. One rule for load
// tests and data streams, so that nothing leaves the machine unasked.
type Destinations struct {
	// Allow lists hosts (names or IPs, without port) deliveries may go to
	// besides loopback; "*" allows any host.
	Allow []string
}

// Check returns why a URL is no destination, or nil.
func (d Destinations) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host (and no user info)", raw)
	}
	host := strings.ToLower(u.Hostname())
	if Loopback(host) || slices.Contains(d.Allow, "*") || slices.ContainsFunc(d.Allow, func(a string) bool { return strings.EqualFold(a, host) }) {
		return nil
	}
	return fmt.Errorf("%s is not a loopback host, and remote destinations are not allowed", host)
}

// Loopback says whether a host stays on this machine: a loopback IP or
// "localhost". Other names are not resolved: what they resolve to may
// change between the check and the request.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
