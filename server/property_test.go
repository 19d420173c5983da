package server_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestProperty_OneOwner drives random API calls and control operations
// (snapshots, restores, resets, clock jumps, scenario runs, data streams
// made and deleted) over HTTP and checks what one owner of the state
// promises: a refused request changes nothing (the log's length and the
// touched resource read the same before and after); a migration's dry run
// gives the verdict of the real run; and at the end every event appended
// since the last restore (or since a stream was made) reaches every
// stream of its workspace.
func TestProperty_OneOwner(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { propertyRun(t, seed) })
	}
}

func propertyRun(t *testing.T, seed uint64) {
	m := mustOpen(t)
	rng := rand.New(rand.NewPCG(seed, 99))
	hooks := map[string]*hook{}           // stream URL → receiver
	since := map[string]int{}             // stream URL → log position it owes from
	snapshots := []int{}                  // ids
	snapSince := map[int]map[string]int{} // snapshot id → since at the time
	var ws []struct{ ID int64 }
	json.Unmarshal(m.api("GET", "/mock/workspaces", nil, 200), &ws)
	var user string

	ids := func(path, key string) []int64 {
		var list []map[string]any
		json.Unmarshal(m.api("GET", path, nil, 200), &list)
		var out []int64
		for _, x := range list {
			out = append(out, int64(x[key].(float64)))
		}
		return out
	}
	pick := func(list []int64) int64 {
		if len(list) == 0 {
			return 1
		}
		return list[rng.IntN(len(list))]
	}
	copyMap := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}

	for i := range 250 {
		// Scenario runs and clock jumps move the clock on: log in anew, as
		// a client does when its token expires.
		m.token = m.login(map[string]string{"application_token": testToken})
		user = m.login(map[string]string{"username": m.acme().Users[0].Username, "password": "emnify-mock"})
		sims, eps := ids("/api/v1/sim?per_page=1000", "id"), ids("/api/v1/endpoint", "id")
		var method, path, body, read string
		token := m.token
		switch k := rng.IntN(14); k {
		case 0, 1, 2:
			id := pick(sims)
			method, path, read = "PATCH", fmt.Sprintf("/api/v1/sim/%d", id), fmt.Sprintf("/api/v1/sim/%d", id)
			body = fmt.Sprintf(`{"status":{"id":%d}}`, rng.IntN(6)-1)
		case 3, 4:
			id := pick(eps)
			method, path, read = "PATCH", fmt.Sprintf("/api/v1/endpoint/%d", id), fmt.Sprintf("/api/v1/endpoint/%d", id)
			parts := []string{fmt.Sprintf(`"status":{"id":%d}`, rng.IntN(4)), fmt.Sprintf(`"sim":{"id":%d}`, pick(sims)), `"sim":null`, `"name":"renamed"`}
			rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			body = "{" + strings.Join(parts[:1+rng.IntN(2)], ",") + "}"
			if strings.Count(body, `"sim"`) > 1 {
				body = "{" + parts[0] + "}"
			}
		case 5:
			a := m.acme()
			method, path = "POST", "/api/v1/endpoint"
			body = fmt.Sprintf(`{"name":"p","status":{"id":%d},"service_profile":{"id":%d},"tariff_profile":{"id":%d},"sim":{"id":%d}}`,
				rng.IntN(4)-1, a.ServiceProfiles[0].ID, a.TariffProfiles[0].ID, pick(sims))
		case 6:
			id := pick(sims)
			method, path, read = "DELETE", fmt.Sprintf("/api/v1/sim/%d", id), fmt.Sprintf("/api/v1/sim/%d", id)
		case 7:
			id := pick(eps)
			method, path, read = "PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", id), fmt.Sprintf("/api/v1/endpoint/%d", id)
			body = `{"location":null}`
		case 8: // a migration: the dry run's verdict is the real one's
			a, b := pick(sims), pick(sims)
			target := ws[rng.IntN(len(ws))].ID
			mk := func(dry bool) string {
				return fmt.Sprintf(`{"target_workspace":{"id":%d},"sims":[{"id":%d},{"id":%d}],"auto_detach_devices":%v,"dry_run":%v}`, target, a, b, rng.IntN(2) == 0, dry)
			}
			detach := rng.IntN(2) == 0
			dry := strings.Replace(mk(true), `"auto_detach_devices":true`, fmt.Sprintf(`"auto_detach_devices":%v`, detach), 1)
			dry = strings.Replace(dry, `"auto_detach_devices":false`, fmt.Sprintf(`"auto_detach_devices":%v`, detach), 1)
			real := strings.Replace(dry, `"dry_run":true`, `"dry_run":false`, 1)
			before := m.srv.Log().Len()
			dres, db := m.call("POST", "/api/v1/sim/migration/workspace", user, dry)
			if m.srv.Log().Len() != before {
				t.Fatalf("op %d: a dry run appended events", i)
			}
			method, path, body, token = "POST", "/api/v1/sim/migration/workspace", real, user
			res, b2 := m.call(method, path, token, body)
			if res.StatusCode != dres.StatusCode {
				t.Fatalf("op %d: dry run %d %s, real run %d %s", i, dres.StatusCode, db, res.StatusCode, b2)
			}
			continue
		case 9:
			var s struct{ ID int }
			json.Unmarshal(m.api("POST", "/mock/snapshots", nil, 201), &s)
			snapshots = append(snapshots, s.ID)
			snapSince[s.ID] = copyMap(since)
			continue
		case 10:
			if len(snapshots) == 0 || rng.IntN(3) == 0 {
				m.api("POST", "/mock/reset", nil, 204)
				since = map[string]int{}
			} else {
				id := snapshots[rng.IntN(len(snapshots))]
				m.api("POST", fmt.Sprintf("/mock/snapshots/%d/restore", id), nil, 204)
				since = copyMap(snapSince[id])
			}
			// What a restored stream owes is what the log holds from here.
			for url := range since {
				since[url] = m.srv.Log().Len()
			}
			continue
		case 11:
			m.api("POST", "/mock/clock", `{"advance":"10m"}`, 200)
			continue
		case 12:
			name := []string{"reset-connectivity", "suspend-resume", "migration"}[rng.IntN(3)]
			method, path = "POST", "/mock/scenarios?name="+name
		case 13:
			if len(hooks) < 3 || rng.IntN(2) == 0 {
				h := newHook(t)
				m.createStream(h.ts.URL, "")
				hooks[h.ts.URL], since[h.ts.URL] = h, m.srv.Log().Len()
			} else {
				var list []struct {
					ID          int64
					Destination struct{ Credentials struct{ URL string } }
				}
				json.Unmarshal(m.api("GET", "/api/v2/data_stream", nil, 200), &list)
				if len(list) > 0 {
					s := list[rng.IntN(len(list))]
					m.api("DELETE", fmt.Sprintf("/api/v2/data_stream/%d", s.ID), nil, 204)
					delete(since, s.Destination.Credentials.URL)
				}
			}
			continue
		}
		before, beforeRead := m.srv.Log().Len(), ""
		if read != "" {
			_, b := m.call("GET", read, m.token, nil)
			beforeRead = string(b)
		}
		res, b := m.call(method, path, token, body)
		if res.StatusCode >= 500 {
			t.Fatalf("op %d: %s %s %s: %d %s", i, method, path, body, res.StatusCode, b)
		}
		if res.StatusCode >= 400 {
			if m.srv.Log().Len() != before {
				t.Fatalf("op %d: refused %s %s %s (%d) but appended events", i, method, path, body, res.StatusCode)
			}
			if read != "" {
				if _, after := m.call("GET", read, m.token, nil); string(after) != beforeRead {
					t.Fatalf("op %d: refused %s %s %s (%d %s) but changed %s:\n%s\n%s", i, method, path, body, res.StatusCode, b, read, beforeRead, after)
				}
			}
		}
	}

	// Every event a stream owes reaches it.
	raw := strings.Split(strings.TrimSpace(string(m.api("GET", "/mock/events", nil, 200))), "\n")
	acme := m.acme().ID
	for url, from := range since {
		h := hooks[url]
		for _, line := range raw[from:] {
			var e struct {
				ID           int64
				Organisation struct{ ID int64 }
			}
			json.Unmarshal([]byte(line), &e)
			if e.Organisation.ID != acme {
				continue
			}
			eventually(t, fmt.Sprintf("event %d at %s", e.ID, url), func() bool { return h.has(e.ID) })
		}
	}
	for _, d := range m.srv.Deliveries() {
		if d.Pending > m.srv.Log().Len() {
			t.Errorf("stream %d stands at %d, past the log's end %d", d.ID, d.Pending, m.srv.Log().Len())
		}
	}
}
