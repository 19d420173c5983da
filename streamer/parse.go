package streamer

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MaxHeaders is how many custom headers a delivery takes. The platform
// documents no limit for its data streams; this one is chosen.
const MaxHeaders = 32

// reservedHeaders are set by the delivery (or the transport) and cannot
// be overridden.
var reservedHeaders = map[string]bool{"Host": true, "Content-Length": true, "Content-Type": true,
	"Transfer-Encoding": true, "Connection": true, "Te": true, "Trailer": true, "Upgrade": true}

// ParseHeaders reads headers written "Name:value", as emnify's data
// streams take them (destination.credentials.headers) and --header does:
// a valid token as the name, a value without line breaks, up to 4 KB
// each, at most MaxHeaders, none of those the delivery sets itself.
// White space around name and value is dropped.
func ParseHeaders(list []string) (http.Header, error) {
	if len(list) > MaxHeaders {
		return nil, fmt.Errorf("at most %d headers, got %d", MaxHeaders, len(list))
	}
	h := http.Header{}
	for _, kv := range list {
		name, value, ok := strings.Cut(kv, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") || len(kv) > 4096:
			return nil, fmt.Errorf("headers are \"Name:value\" with a valid name, up to 4 KB, got %.100q", kv)
		case reservedHeaders[http.CanonicalHeaderKey(name)]:
			return nil, fmt.Errorf("header %s is set by the delivery itself", name)
		}
		h.Add(name, value)
	}
	return h, nil
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// ParsePolicy returns a preset's policy, with attempts, initial and max
// overriding it where they are above zero: then the preset's fixed
// schedule, if any, gives way to capped exponential back-off with full
// jitter.
func ParsePolicy(preset string, attempts int, initial, maxDelay time.Duration) (Policy, error) {
	p, ok := Presets[preset]
	if !ok {
		return p, fmt.Errorf("retry must be one of %s, got %q", PresetNames(), preset)
	}
	if attempts < 0 || initial < 0 || maxDelay < 0 {
		return p, fmt.Errorf("retry attempts and delays must not be negative")
	}
	if attempts > 0 || initial > 0 || maxDelay > 0 {
		p.Schedule = nil
		if attempts > 0 {
			p.Attempts = attempts
		}
		if initial > 0 {
			p.Initial = initial
		}
		if maxDelay > 0 {
			p.Max = maxDelay
		}
		if p.Initial == 0 {
			p.Initial = time.Second
		}
		if p.Max < p.Initial {
			p.Max = p.Initial
		}
	}
	return p, p.Validate()
}
