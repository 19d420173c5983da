package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

// exchange is one recorded request and response of the real API.
type exchange struct {
	Request struct {
		Method string          `json:"method"`
		URI    string          `json:"uri"`
		Body   json.RawMessage `json:"body"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
}

// recorded returns the first exchange of a recorded conversation with the
// method, a URI starting with prefix, and the status.
func recorded(t *testing.T, file, method, prefix string, status int) exchange {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded-api", file))
	if err != nil {
		t.Fatal(err)
	}
	var xs []exchange
	if err := json.Unmarshal(b, &xs); err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		if x.Request.Method == method && strings.HasPrefix(x.Request.URI, prefix) && x.Response.Status == status {
			return x
		}
	}
	t.Fatalf("%s has no %s %s with status %d", file, method, prefix, status)
	return exchange{}
}

// keys describes the key order of a JSON value at every level; leaves are
// "_" whatever their type (tags and imei may be null or a string).
func keys(t *testing.T, data []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() string
	walk = func() string {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("read %s: %v", data, err)
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return "_"
		}
		var parts []string
		for dec.More() {
			if d == '{' {
				k, _ := dec.Token()
				parts = append(parts, fmt.Sprintf("%s:%s", k, walk()))
			} else {
				s := walk()
				if len(parts) == 0 {
					parts = append(parts, s)
				}
			}
		}
		dec.Token()
		if d == '{' {
			return "{" + strings.Join(parts, ",") + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return walk()
}

func firstWith(t *testing.T, list []byte, key string) []byte {
	t.Helper()
	var items []json.RawMessage
	json.Unmarshal(list, &items)
	for _, it := range items {
		var m map[string]json.RawMessage
		json.Unmarshal(it, &m)
		if _, ok := m[key]; ok {
			return it
		}
	}
	t.Fatalf("no item with %q in %s", key, list)
	return nil
}

func TestShapes_MatchRecordedTraffic(t *testing.T) {
	m := mustOpen(t)
	ep := m.acme().Endpoints()[0] // GPS tracker 1, with an activated SIM

	t.Run("EndpointList", func(t *testing.T) {
		rec := recorded(t, "test_delete_device.json", "GET", "/api/v1/endpoint", 200)
		res, got := m.call("GET", "/api/v1/endpoint", m.token, nil)
		if g, w := keys(t, firstWith(t, got, "sim")), keys(t, firstWith(t, rec.Response.Body, "sim")); g != w {
			t.Errorf("keys\n got %s\nwant %s", g, w)
		}
		for _, h := range []string{"Content-Type", "X-Count-Per-Page", "X-Current-Page", "X-Sort"} {
			if g, w := res.Header.Get(h), rec.Response.Headers[strings.ToLower(h)]; g != w {
				t.Errorf("%s: got %q, want %q", h, g, w)
			}
		}
	})
	t.Run("Endpoint", func(t *testing.T) {
		rec := recorded(t, "test_delete_device.json", "GET", "/api/v1/endpoint/11380016", 200)
		res, got := m.call("GET", fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), m.token, nil)
		if g, w := keys(t, got), keys(t, rec.Response.Body); g != w {
			t.Errorf("keys\n got %s\nwant %s", g, w)
		}
		if g, w := res.Header.Get("Content-Type"), rec.Response.Headers["content-type"]; g != w {
			t.Errorf("Content-Type %q, want %q", g, w)
		}
	})
	t.Run("SIMList", func(t *testing.T) {
		rec := recorded(t, "get_sim_list.json", "GET", "/api/v1/sim", 200)
		res, got := m.call("GET", "/api/v1/sim", m.token, nil)
		if g, w := keys(t, firstWith(t, got, "endpoint")), keys(t, firstWith(t, rec.Response.Body, "endpoint")); g != w {
			t.Errorf("keys\n got %s\nwant %s", g, w)
		}
		if g, w := res.Header.Get("X-Count-Per-Page"), "2000"; g != w {
			t.Errorf("X-Count-Per-Page %q, want %q", g, w)
		}
	})
	t.Run("WritesAnswerEmpty", func(t *testing.T) {
		rec := recorded(t, "test_delete_device.json", "PATCH", "/api/v1/sim/250", 204)
		res, body := m.call("PATCH", fmt.Sprintf("/api/v1/sim/%d", ep.SIM.ID), m.token, `{"status": {"id": 2, "description": "Suspended"}}`)
		if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
			t.Errorf("PATCH sim: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		rec = recorded(t, "test_delete_device.json", "PATCH", "/api/v1/endpoint/", 204)
		res, body = m.call("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), m.token, `{"sim": {"id": null}}`)
		if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
			t.Errorf("PATCH endpoint: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})
	t.Run("ReleasedSIM", func(t *testing.T) {
		rec := recorded(t, "test_delete_device.json", "GET", "/api/v1/sim/250", 200)
		_, got := m.call("GET", fmt.Sprintf("/api/v1/sim/%d", m.acme().SIMs()[0].ID), m.token, nil)
		if g, w := keys(t, got), keys(t, rec.Response.Body); g != w {
			t.Errorf("keys\n got %s\nwant %s", g, w)
		}
	})
	t.Run("ResetConnectivity", func(t *testing.T) {
		rec := recorded(t, "test_reset_connectivity.json", "PATCH", "/api/v1/endpoint/", 204)
		res, body := m.call("PATCH", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), m.token, `{"pdp_context": null}`)
		if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
			t.Errorf("reset: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})
	t.Run("Connectivity", func(t *testing.T) {
		rec := recorded(t, "test_get_device_connectivity.json", "GET", "/api/v1/endpoint/", 200)
		_, got := m.call("GET", fmt.Sprintf("/api/v1/endpoint/%d/connectivity", ep.ID), m.token, nil)
		if g, w := string(got), compactJSON(rec.Response.Body); g != w {
			t.Errorf("got %s, want %s (a disabled-SIM endpoint is offline)", g, w)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, x := range []struct{ file, method, uri string }{
			{"test_update_device_error_handling_device_id.json", "PATCH", "/api/v1/endpoint/-1"},
			{"test_update_device_error_handling_device_id.json", "PATCH", "/api/v1/endpoint/None"},
		} {
			rec := findAny(t, x.file, x.method, x.uri)
			res, got := m.call(x.method, x.uri, m.token, string(rec.Request.Body))
			if res.StatusCode != rec.Response.Status || string(got) != compactJSON(rec.Response.Body) || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
				t.Errorf("%s %s:\n got %d %s %s\nwant %d %s %s", x.method, x.uri, res.StatusCode, res.Header.Get("Content-Type"), got,
					rec.Response.Status, rec.Response.Headers["content-type"], compactJSON(rec.Response.Body))
			}
		}
		rec := recorded(t, "test_update_device_error_handling_service_profile.json", "PATCH", "/api/v1/endpoint/", 422)
		res, got := m.call("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), m.token, string(rec.Request.Body))
		if res.StatusCode != 422 || string(got) != compactJSON(rec.Response.Body) {
			t.Errorf("bad service profile:\n got %d %s\nwant 422 %s", res.StatusCode, got, compactJSON(rec.Response.Body))
		}
	})
}

// findAny returns the recorded exchange with that method and exact URI.
func findAny(t *testing.T, file, method, uri string) exchange {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join("testdata", "recorded-api", file))
	var xs []exchange
	json.Unmarshal(b, &xs)
	for _, x := range xs {
		if x.Request.Method == method && x.Request.URI == uri && x.Response.Status != 401 {
			return x
		}
	}
	t.Fatalf("%s has no %s %s", file, method, uri)
	return exchange{}
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	json.Compact(&b, raw)
	return b.String()
}

func TestCreateEndpoint_AsRecorded(t *testing.T) {
	m := mustOpen(t)
	rec := recorded(t, "create_device_with_sim.json", "POST", "/api/v1/endpoint", 201)
	var free *generator.SIM
	for _, s := range m.acme().SIMs() {
		if s.Endpoint == nil && s.Status == generator.SIMIssued {
			free = s
			break
		}
	}
	// The recorded body, with this workspace's SIM and profiles.
	var body map[string]any
	json.Unmarshal(rec.Request.Body, &body)
	body["sim"] = map[string]any{"id": free.ID}
	body["service_profile"] = map[string]any{"id": m.acme().ServiceProfiles[0].ID}
	body["tariff_profile"] = map[string]any{"id": m.acme().TariffProfiles[0].ID}
	before := m.srv.Log().Len()
	res, got := m.call("POST", "/api/v1/endpoint", m.token, body)
	if res.StatusCode != 201 || len(got) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
		t.Fatalf("got %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), got)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, m.http.URL+"/api/v1/endpoint/") {
		t.Fatalf("Location %q", loc)
	}
	// As recorded: the SIM's activation and then its assignment, neither
	// with an endpoint key.
	events, _ := m.srv.Log().Since(before)
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	recEvents := recorded(t, "device_events.json", "GET", "/api/v1/endpoint/11380016/event", 200)
	var want []json.RawMessage
	json.Unmarshal(recEvents.Response.Body, &want)
	for i := range events {
		if g, w := keys(t, events[i]), keys(t, want[i]); g != w {
			t.Errorf("event %d keys\n got %s\nwant %s", i, g, w)
		}
	}
}
