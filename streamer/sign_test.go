package streamer_test

import (
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/streamer"
)

// The Standard Webhooks specification's test vector.
func TestSigner_StandardWebhooksVector(t *testing.T) {
	s, err := streamer.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, err := streamer.NewSigner(bad); err == nil {
			t.Errorf("accepted secret %q", bad)
		}
	}
}
