package streamer

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signer signs deliveries as Standard Webhooks do: headers webhook-id,
// webhook-timestamp and webhook-signature ("v1," + base64 HMAC-SHA256 of
// "id.timestamp.body"). emnify's own webhooks are unsigned; this is an
// opt-in layer for teams that test verification code.
type Signer struct {
	key []byte
}

// NewSigner takes a secret written "whsec_" + base64.
func NewSigner(secret string) (*Signer, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, fmt.Errorf("signing secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("signing secret must be whsec_ and the base64 of 24 to 64 bytes")
	}
	return &Signer{key: key}, nil
}

// Sign returns the signature header value for a message.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// forged returns a signer with another key, whose signatures a receiver
// must refuse.
func (s *Signer) forged() *Signer {
	k := bytes.Clone(s.key)
	for i := range k {
		k[i] ^= 0xff
	}
	return &Signer{key: k}
}

// set adds the three headers to a request.
func (s *Signer) set(h http.Header, id string, ts time.Time, body []byte) {
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", s.Sign(id, ts, body))
}

// SignNew signs a load-test message: a fresh id (a random hex string, so
// every request is a new message) and the current time. It returns the
// values of webhook-id, webhook-timestamp and webhook-signature.
func (s *Signer) SignNew(body []byte) (id, timestamp, signature string) {
	var b [12]byte
	rand.Read(b[:])
	id, now := "msg_"+hex.EncodeToString(b[:]), time.Now()
	return id, strconv.FormatInt(now.Unix(), 10), s.Sign(id, now, body)
}
