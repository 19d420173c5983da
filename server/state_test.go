package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// lastEvent returns the id of the log's last event.
func (m *mock) lastEvent() int64 {
	m.t.Helper()
	raw, _ := m.srv.Log().Since(m.srv.Log().Len() - 1)
	var e struct{ ID int64 }
	if err := json.Unmarshal(raw[0], &e); err != nil {
		m.t.Fatal(err)
	}
	return e.ID
}

func (m *mock) simStatus(id int64) string {
	m.t.Helper()
	var s struct {
		Status struct{ Description string }
	}
	json.Unmarshal(m.api("GET", fmt.Sprintf("/api/v1/sim/%d", id), nil, 200), &s)
	return s.Status.Description
}

// activated returns n Activated SIMs of acme.
func (m *mock) activated(n int) []int64 {
	var ids []int64
	for _, s := range m.acme().SIMs() {
		if s.Status == generator.SIMActivated && len(ids) < n {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) < n {
		m.t.Fatalf("acme has %d Activated SIMs, want %d", len(ids), n)
	}
	return ids
}

// TestRestore_StreamsDeliverWhatFollows: the reproduction. A
// stream is further along the log than a snapshot; after the restore, the
// events made next all reach it, and /mock/deliveries says so.
func TestRestore_StreamsDeliverWhatFollows(t *testing.T) {
	m := mustOpen(t)
	h := newHook(t)
	m.createStream(h.ts.URL, "")
	sims := m.activated(6)
	suspend := func(id int64) int64 {
		m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", id), `{"status":{"id":2}}`, 204)
		return m.lastEvent()
	}
	first := suspend(sims[0])
	eventually(t, "the first suspension delivered", func() bool { return h.has(first) })
	snap := m.api("POST", "/mock/snapshots", nil, 201)
	for _, id := range sims[1:3] {
		last := suspend(id)
		eventually(t, "the suspensions after the snapshot delivered", func() bool { return h.has(last) })
	}
	var s struct{ ID int }
	json.Unmarshal(snap, &s)
	m.api("POST", fmt.Sprintf("/mock/snapshots/%d/restore", s.ID), nil, 204)
	var after []int64
	for _, id := range sims[3:6] {
		after = append(after, suspend(id))
	}
	eventually(t, "the three events after the restore delivered", func() bool {
		return h.has(after[0]) && h.has(after[1]) && h.has(after[2])
	})
	eventually(t, "deliveries to say nothing is owed", func() bool {
		d := m.srv.Deliveries()
		return len(d) == 1 && d[0].Undelivered == 0 && d[0].Pending == m.srv.Log().Len()
	})
}

// TestRestore_BringsBackTheSnapshotsEvents: suspend A, snapshot, reset,
// suspend B, restore: A is Suspended, B Activated, and the log holds A's
// suspension, not B's.
func TestRestore_BringsBackTheSnapshotsEvents(t *testing.T) {
	m := mustOpen(t)
	sims := m.activated(2)
	a, b := sims[0], sims[1]
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", a), `{"status":{"id":2}}`, 204)
	aEvent := m.lastEvent()
	snap := m.api("POST", "/mock/snapshots", nil, 201)
	m.api("POST", "/mock/reset", nil, 204)
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", b), `{"status":{"id":2}}`, 204)
	bEvent := m.lastEvent()
	var s struct{ ID int }
	json.Unmarshal(snap, &s)
	m.api("POST", fmt.Sprintf("/mock/snapshots/%d/restore", s.ID), nil, 204)
	if got := m.simStatus(a); got != "Suspended" {
		t.Errorf("SIM A is %s after the restore", got)
	}
	if got := m.simStatus(b); got != "Activated" {
		t.Errorf("SIM B is %s after the restore", got)
	}
	log := m.api("GET", "/mock/events", nil, 200)
	if !strings.Contains(string(log), fmt.Sprintf(`"id":%d,`, aEvent)) {
		t.Error("the log lost A's suspension")
	}
	if strings.Contains(string(log), fmt.Sprintf(`"id":%d,`, bEvent)) {
		t.Error("the log holds B's suspension, made after the state it went back to")
	}
}

// TestMigration_DryRunIsTheRealVerdict: a dry run answers what the real
// run answers, the same SIM twice included, and changes nothing.
func TestMigration_DryRunIsTheRealVerdict(t *testing.T) {
	m := mustOpen(t)
	var ws []struct{ ID int64 }
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	admin := m.login(map[string]string{"username": m.acme().Users[0].Username, "password": "emnify-mock"}) // acme only
	sasha := m.login(map[string]string{"username": m.acme().Users[1].Username, "password": "emnify-mock"}) // acme and production
	sim := m.activated(1)[0]
	before := m.srv.Log().Len()
	for _, dry := range []bool{true, false} {
		body := fmt.Sprintf(`{"target_workspace":{"id":%d},"sims":[{"id":%d},{"id":%d}],"dry_run":%v}`, ws[1].ID, sim, sim, dry)
		res, b := m.call("POST", "/api/v1/sim/migration/workspace", sasha, body)
		if res.StatusCode != 422 || !strings.Contains(string(b), "listed twice") {
			t.Errorf("dry_run %v: %d %s", dry, res.StatusCode, b)
		}
		// A user with no role in the target workspace may not migrate into it.
		body = fmt.Sprintf(`{"target_workspace":{"id":%d},"sims":[{"id":%d}],"dry_run":%v}`, ws[1].ID, sim, dry)
		res, b = m.call("POST", "/api/v1/sim/migration/workspace", admin, body)
		if res.StatusCode != 403 || !strings.Contains(string(b), `"error_token":"Forbidden"`) || !strings.Contains(string(b), "has no role in workspace") {
			t.Errorf("dry_run %v by a user of the source only: %d %s", dry, res.StatusCode, b)
		}
	}
	if m.srv.Log().Len() != before {
		t.Error("a refused migration appended events")
	}
}

// TestCreateEndpoint_UnknownStatusIsRefused: status ids the platform does
// not have get emnify's 422 body, never a 500, and change nothing.
func TestCreateEndpoint_UnknownStatusIsRefused(t *testing.T) {
	m := mustOpen(t)
	ws := m.acme()
	eps := len(ws.Endpoints())
	for _, id := range []string{"2", "3", "-1", "5", "1.5", "9223372036854775807", "1e300"} {
		body := fmt.Sprintf(`{"name":"x","status":{"id":%s},"service_profile":{"id":%d},"tariff_profile":{"id":%d}}`, id, ws.ServiceProfiles[0].ID, ws.TariffProfiles[0].ID)
		res, b := m.call("POST", "/api/v1/endpoint", m.token, body)
		if res.StatusCode != 422 || !strings.Contains(string(b), `"error_token":"InvalidFormat"`) {
			t.Errorf("status %s: %d %s", id, res.StatusCode, b)
		}
		ep := ws.Endpoints()[0].ID
		res, b = m.call("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", ep), m.token, fmt.Sprintf(`{"status":{"id":%s}}`, id))
		if res.StatusCode != 422 {
			t.Errorf("PATCH status %s: %d %s", id, res.StatusCode, b)
		}
	}
	if len(ws.Endpoints()) != eps {
		t.Error("a refused endpoint was created")
	}
}

// TestClock_RefusesToOverflow: advances that would wrap the clock are
// refused, and an expired token stays expired.
func TestClock_RefusesToOverflow(t *testing.T) {
	m := mustOpenOn(t, generator.NewShifted(-72*time.Hour))
	m.api("POST", "/mock/clock", `{"advance":"5h"}`, 200)
	m.api("POST", "/mock/clock", `{"advance":"2562047h"}`, 422)
	m.api("POST", "/mock/clock", `{"advance":"875995h"}`, 200) // to 100 years ahead: the most allowed
	m.api("POST", "/mock/clock", `{"advance":"1h"}`, 422)
	if res, _ := m.call("GET", "/api/v1/sim", m.token, nil); res.StatusCode != 401 {
		t.Errorf("an expired token answers %d", res.StatusCode)
	}
}
