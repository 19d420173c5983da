package eventlog

import (
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

// FuzzEventQuery: no q, sort or paging makes parsing or searching panic.
// Run: go test -fuzz FuzzEventQuery ./eventlog
func FuzzEventQuery(f *testing.F) {
	churn, err := generator.NewChurn(1, generator.ChurnOptions{Workspaces: 1})
	if err != nil {
		f.Fatal(err)
	}
	l := NewLog()
	var org int64
	for range 300 {
		e := churn.Next()
		org = e.Organisation.ID
		l.Append(e)
	}
	for _, seed := range []struct{ q, sort string }{
		{"type:8|9,source:2", "-id"},
		{"from:2025-01-06T00:00:00Z,until:2026-01-01T00:00:00Z", "timestamp,-type"},
		{"iccid:8988303000474714091,alert:false", "+iccid"},
		{"description:factory,organisation:x,user:y,tags:z", "endpoint,tags,ip_address,imsi,organisation"},
		{"endpoint:GPS tracker 3|x,ip_address:10.0.0.1,imei:1", "user,alert,severity,source"},
		{"timestamp:2025-01-06,network:Telekom", ""},
		{"type:,:,,,", "-"},
	} {
		f.Add(seed.q, seed.sort, 2, 10)
	}
	f.Fuzz(func(t *testing.T, q, sort string, page, perPage int) {
		eq, err := ParseQuery(l, Scope{Org: org}, q, sort)
		if err != nil {
			return
		}
		if perPage < 1 || perPage > 1000 {
			perPage = 100
		}
		total, out, pageNo := l.Find(eq, page, perPage)
		if len(out) > perPage || len(out) > total || pageNo < 1 {
			t.Fatalf("page %d of %d: %d events of %d", pageNo, page, len(out), total)
		}
	})
}
