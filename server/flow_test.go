package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

type eventView struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
	Type        struct {
		ID int `json:"id"`
	} `json:"event_type"`
	Organisation struct {
		ID int64 `json:"id"`
	} `json:"organisation"`
	Endpoint *struct {
		ID int64 `json:"id"`
	} `json:"endpoint"`
	SIM *struct {
		ID int64 `json:"id"`
	} `json:"sim"`
}

func (m *mock) events(path string) []eventView {
	m.t.Helper()
	var out []eventView
	if err := json.Unmarshal(m.api("GET", path, nil, 200), &out); err != nil {
		m.t.Fatal(err)
	}
	return out
}

func typesOf(events []eventView) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprint(e.Type.ID))
	}
	return strings.Join(s, " ")
}

// TestEndpointLifecycle_EndToEnd drives a device's whole life over HTTP and
// checks the per-endpoint, per-SIM and global event lists.
func TestEndpointLifecycle_EndToEnd(t *testing.T) {
	m := mustOpen(t)
	ws := m.acme()
	var sim *generator.SIM
	for _, s := range ws.SIMs() {
		if s.Endpoint == nil && s.Status == generator.SIMIssued {
			sim = s
			break
		}
	}
	before := len(m.events("/api/v1/event?per_page=1000"))

	res, _ := m.call("POST", "/api/v1/endpoint", m.token, map[string]any{
		"name": "Pallet tracker 77", "status": map[string]int{"id": 0}, "imei": "3554631177373901",
		"service_profile": map[string]int64{"id": ws.ServiceProfiles[0].ID}, "tariff_profile": map[string]int64{"id": ws.TariffProfiles[0].ID},
		"sim": map[string]int64{"id": sim.ID},
	})
	if res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	epID := loc[strings.LastIndex(loc, "/")+1:]
	ep := "/api/v1/endpoint/" + epID
	m.api("PATCH", ep, `{"status": {"id": 1}}`, 204)                                    // 43
	m.api("PATCH", ep, `{"status": {"id": 0}}`, 204)                                    // 42
	m.api("PATCH", ep+"/connectivity", `{"location": null}`, 204)                       // 68
	m.api("PATCH", ep, `{"sim": {"id": null}}`, 204)                                    // 50
	m.api("DELETE", ep, nil, 204)                                                       // no event
	m.api("PATCH", fmt.Sprintf("/api/v1/sim/%d", sim.ID), `{"status": {"id": 2}}`, 204) // 9
	m.api("DELETE", fmt.Sprintf("/api/v1/sim/%d", sim.ID), nil, 204)                    // 10

	// As recorded, the creation events are filed under the endpoint although
	// their JSON has no endpoint key.
	if got, want := typesOf(m.events(ep+"/event")), "8 51 43 42 68 50"; got != want {
		t.Errorf("endpoint events %s, want %s", got, want)
	}
	if got, want := typesOf(m.events(fmt.Sprintf("/api/v1/sim/%d/event", sim.ID))), "8 51 43 42 68 50 9 10"; got != want {
		t.Errorf("SIM events %s, want %s", got, want)
	}
	all := m.events("/api/v1/event?per_page=1000")
	if got, want := typesOf(all[before:]), "8 51 43 42 68 50 9 10"; got != want {
		t.Errorf("new events in the global list %s, want %s", got, want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID < all[i-1].ID {
			t.Fatalf("global list not in id order at %d", i)
		}
	}
	if d := all[len(all)-1].Description; !strings.Contains(d, "has been deleted by application token") {
		t.Errorf("deletion description %q", d)
	}
	// The endpoint and the SIM are gone.
	m.api("GET", ep, nil, 404)
	m.api("GET", fmt.Sprintf("/api/v1/sim/%d", sim.ID), nil, 404)
	// Unknown ids give an empty list, not 404.
	if b := m.api("GET", "/api/v1/endpoint/1/event", nil, 200); string(b) != "[]" {
		t.Errorf("unknown endpoint events: %s", b)
	}
	m.api("GET", "/api/v1/sim/abc/event", nil, 400)
}

// TestRefusals: a change the platform refuses gets emnify's error and
// appends nothing.
func TestRefusals(t *testing.T) {
	m := mustOpen(t)
	ws := m.acme()
	var issued, attached *generator.SIM
	for _, s := range ws.SIMs() {
		if s.Status == generator.SIMIssued && issued == nil {
			issued = s
		}
		if s.Endpoint != nil && attached == nil {
			attached = s
		}
	}
	n := m.srv.Log().Len()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"SuspendIssued", "PATCH", fmt.Sprintf("/api/v1/sim/%d", issued.ID), `{"status":{"id":2}}`, 409, "is Issued: cannot suspend"},
		{"DeleteAttached", "DELETE", fmt.Sprintf("/api/v1/sim/%d", attached.ID), "", 409, "is assigned to endpoint"},
		{"DeleteEndpointWithSIM", "DELETE", fmt.Sprintf("/api/v1/endpoint/%d", attached.Endpoint.ID), "", 409, "holds SIM"},
		{"BackToIssued", "PATCH", fmt.Sprintf("/api/v1/sim/%d", attached.ID), `{"status":{"id":0}}`, 422, "cannot be set"},
		{"MalformedJSON", "PATCH", fmt.Sprintf("/api/v1/sim/%d", attached.ID), `{"status":`, 400, "Malformed JSON"},
		{"UnknownSIM", "PATCH", "/api/v1/sim/1", `{"status":{"id":1}}`, 404, "SIM with Id '1' not found."},
		{"TooLarge", "PATCH", fmt.Sprintf("/api/v1/endpoint/%d", attached.Endpoint.ID), `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too large"},
		{"MissingProfiles", "POST", "/api/v1/endpoint", `{"name":"x"}`, 422, "Endpoint - service_profile is required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			res, b := m.call(tc.method, tc.path, m.token, body)
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
				t.Errorf("got %d %s, want %d with %q", res.StatusCode, b, tc.status, tc.contains)
			}
		})
	}
	// Releasing the SIM and enabling in one PATCH would enable an endpoint
	// without SIM: the whole PATCH is refused, the SIM stays.
	var disabled *generator.Endpoint
	for _, ep := range ws.Endpoints() {
		if ep.Status == generator.EndpointDisabled && ep.SIM != nil {
			disabled = ep
			break
		}
	}
	res, b := m.call("PATCH", fmt.Sprintf("/api/v1/endpoint/%d", disabled.ID), m.token, `{"sim":{"id":null},"status":{"id":0}}`)
	if res.StatusCode != 409 || disabled.SIM == nil {
		t.Errorf("release+enable: %d %s; SIM still there: %v", res.StatusCode, b, disabled.SIM != nil)
	}
	if got := m.srv.Log().Len(); got != n {
		t.Errorf("refused changes appended %d events", got-n)
	}
}

func TestEvents_PagingFiltersSort(t *testing.T) {
	m := mustOpen(t)
	all := m.events("/api/v1/event?per_page=1000")
	total := len(all)

	res, b := m.call("GET", "/api/v1/event?per_page=10&page=2&sort=-id", m.token, nil)
	var page []eventView
	json.Unmarshal(b, &page)
	h := res.Header
	if h.Get("X-Total-Count") != fmt.Sprint(total) || h.Get("X-Current-Page") != "2" || h.Get("X-Count-Per-Page") != "10" ||
		h.Get("X-Total-Pages") != fmt.Sprint((total+9)/10) || h.Get("X-Sort") != "-id" || h.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("headers %v", h)
	}
	if len(page) != 10 || page[0].ID != all[total-11].ID {
		t.Errorf("page 2 of -id starts with %d, want %d", page[0].ID, all[total-11].ID)
	}
	link := h.Get("Link")
	for _, rel := range []string{`rel="first"`, `rel="prev"`, `rel="next"`, `rel="last"`} {
		if !strings.Contains(link, rel) || !strings.Contains(link, "sort=-id") {
			t.Errorf("Link %q lacks %s or the sort", link, rel)
		}
	}
	// Past the end gives the last page; too large a page size is clamped.
	res, _ = m.call("GET", "/api/v1/event?per_page=5000&page=99", m.token, nil)
	if res.Header.Get("X-Count-Per-Page") != "1000" || res.Header.Get("X-Current-Page") != "1" || res.Header.Get("Link") != "" {
		t.Errorf("clamping: %v", res.Header)
	}

	byType := func(q string) []eventView { return m.events("/api/v1/event?per_page=1000&q=" + url.QueryEscape(q)) }
	if got := byType("type:8|9"); len(got) == 0 || strings.Trim(strings.NewReplacer("8", "", "9", "", " ", "").Replace(typesOf(got)), "") != "" {
		t.Errorf("type:8|9 gave %s", typesOf(got))
	}
	sim := m.acme().SIMs()[3]
	for _, e := range byType("iccid:" + sim.ICCID) {
		if e.SIM == nil || e.SIM.ID != sim.ID {
			t.Errorf("iccid filter returned an event of SIM %v", e.SIM)
		}
	}
	if len(byType("iccid_with_luhn:"+sim.ICCIDWithLuhn())) != len(byType("iccid:"+sim.ICCID)) {
		t.Error("iccid and iccid_with_luhn filters differ")
	}
	if got := byType("description:factory test"); len(got) != 8+4 {
		t.Errorf("description filter: %d events, want 12 (8 to Factory Test, 4 Policy Control activations)", len(got))
	}
	if got := byType("source:1"); typesOf(got) != "8 8 8 8" {
		t.Errorf("source:1 gave %s", typesOf(got))
	}
	from, until := t0.Add(-72*60*60e9).Format("2006-01-02T15:04:05Z"), t0.Format("2006-01-02T15:04:05Z")
	if got := byType("from:" + from + ",until:" + until); len(got) != total {
		t.Errorf("from/until over the whole history: %d of %d", len(got), total)
	}
	for _, tc := range []struct{ q, status, body string }{
		{"q=colour:red", "422", `{"error_code":1301,"error_token":"InvalidQueryCriteria","message":"Search criteria colour:red is invalid"}`},
		{"q=from:2026-01-01T00:00:00Z", "422", "InvalidQueryCriteria"},
		{"q=type:1|2|3|4|5|6|7", "422", "InvalidQueryCriteria"},
		{"sort=colour", "422", `{"error_code":1302,"error_token":"InvalidSortCriteria","message":"Sort criteria colour is invalid"}`},
		{"page=two", "400", `Cannot parse parameter page as Integer`},
	} {
		res, b := m.call("GET", "/api/v1/event?"+tc.q, m.token, nil)
		if fmt.Sprint(res.StatusCode) != tc.status || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: got %d %s", tc.q, res.StatusCode, b)
		}
	}
	// Sorting by another field orders the page by it.
	sorted := m.events("/api/v1/event?per_page=1000&sort=-type,id")
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Type.ID > sorted[i-1].Type.ID {
			t.Fatalf("sort=-type: %d after %d", sorted[i].Type.ID, sorted[i-1].Type.ID)
		}
	}
}
