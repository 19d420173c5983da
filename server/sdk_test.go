package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

// TestOfficialSDK_Replay sends the requests the official Python SDK
// (emnify/emnify-sdk-python, emnify/modules/*/manager.py) makes, in the
// order its methods make them and with the bodies it sends: status objects
// with a description, a bare status object to register a batch, q filters
// joined with commas and values with |. Each must be answered as the
// recorded conversations answer (status and content type), where one was
// recorded.
func TestOfficialSDK_Replay(t *testing.T) {
	m := mustOpen(t)
	ws := m.acme()
	var ep *generator.Endpoint
	for _, e := range ws.Endpoints() {
		if e.SIM != nil && e.SIM.Status == generator.SIMActivated && e.Status == generator.EndpointEnabled {
			ep = e
			break
		}
	}
	var bic string
	for _, b := range ws.Batches() {
		if !b.Registered {
			bic = b.BIC
		}
	}
	dev, sim := fmt.Sprintf("/api/v1/endpoint/%d", ep.ID), fmt.Sprintf("/api/v1/sim/%d", ep.SIM.ID)
	const (
		enabled   = `{"status": {"id": 0, "description": "Enabled"}}`
		disabled  = `{"status": {"id": 1, "description": "Disabled"}}`
		activated = `{"status": {"id": 1, "description": "Activated"}}`
		suspended = `{"status": {"id": 2, "description": "Suspended"}}`
	)
	type call struct {
		method, path, body string
		status             int
		contentType        string // "" not checked
	}
	for _, method := range []struct {
		name  string
		calls []call
	}{
		{"change_status(disable=True)", []call{
			{"GET", dev, "", 200, "application/json; charset=UTF-8"},
			{"PATCH", dev, disabled, 204, "application/json"},
			{"PATCH", sim, suspended, 204, "application/json"},
		}},
		{"change_status(enable=True)", []call{
			{"GET", dev, "", 200, ""},
			{"PATCH", dev, enabled, 204, ""},
			{"PATCH", sim, activated, 204, ""},
		}},
		{"change_status(enable=True) on an enabled device with an Activated SIM", []call{
			{"GET", dev, "", 200, ""},
			{"PATCH", dev, enabled, 204, ""},
			{"PATCH", sim, activated, 204, ""},
		}},
		{"add_device_blacklist_operator, get_device_operator_blacklist, delete_device_blacklist_operator", []call{
			{"PUT", dev + "/operator_blacklist/553", "", 204, "application/json"},
			{"PUT", dev + "/operator_blacklist/553", "", 409, "application/json; charset=UTF-8"},
			{"GET", dev + "/operator_blacklist", "", 200, "application/json; charset=UTF-8"},
			{"DELETE", dev + "/operator_blacklist/553", "", 204, "application/json"},
		}},
		{"send_sms", []call{
			{"POST", dev + "/sms", `{"payload": "sample_test_payload"}`, 201, "text/html; charset=UTF-8"},
			{"POST", dev + "/sms", `{"payload": "x", "source_address": "12345", "dcs": 0, "udh": "", "expiry_date": "2026-03-03T09:00:00Z", "source_address_type": {"id": 145, "description": "International"}}`, 201, ""},
			{"GET", dev + "/sms", "", 200, "application/json"},
		}},
		{"get_devices_list(filter_model, sort_enum)", []call{
			{"GET", "/api/v1/endpoint?q=" + url.QueryEscape("status:0,sim_status:1") + "&sort=name", "", 200, "application/json; charset=UTF-8"},
			{"GET", "/api/v1/endpoint?q=" + url.QueryEscape("created:2026-03-02 09:00:00") + "&sort=-last_updated", "", 200, ""},
		}},
		{"get_sim_list(filter_model, sort_enum, without_device)", []call{
			{"GET", "/api/v1/sim?q=" + url.QueryEscape(fmt.Sprintf("customer_org:%d,status:1|2", ws.ID)) + "&sort=-issuer_org", "", 200, ""},
			{"GET", "/api/v1/sim?q=" + url.QueryEscape("production_date:2025-01-01,model:4"), "", 200, ""},
			{"GET", "/api/v1/sim?q=endpoint:null", "", 200, ""},
		}},
		{"release_sim", []call{
			{"GET", dev, "", 200, ""},
			{"PATCH", sim, suspended, 204, ""},
			{"PATCH", dev, disabled, 204, ""},
			{"PATCH", dev, `{"sim": {"id": null}}`, 204, "application/json"},
		}},
		{"register_sim(bic)", []call{
			{"PATCH", "/api/v1/sim_batch/bic/" + bic, `{"id": 1, "description": "Activated"}`, 200, "application/json"},
		}},
	} {
		for _, c := range method.calls {
			var body any
			if c.body != "" {
				body = c.body
			}
			res, b := m.call(c.method, c.path, m.token, body)
			if res.StatusCode != c.status || c.contentType != "" && res.Header.Get("Content-Type") != c.contentType {
				t.Errorf("%s: %s %s %s: %d %q %s, want %d %q", method.name, c.method, c.path, c.body, res.StatusCode, res.Header.Get("Content-Type"), b, c.status, c.contentType)
			}
		}
	}
	if ep.SIM != nil || ep.Status != generator.EndpointDisabled {
		t.Errorf("after release_sim the device is %s with SIM %v", ep.Status, ep.SIM)
	}
	if b := m.api("GET", dev+"/sms", nil, 200); !strings.Contains(string(b), `"source_address":"12345"`) || !strings.Contains(string(b), `"source_address_type":{"description":"International","id":145}`) ||
		!strings.Contains(string(b), `"expiry_date":"2026-03-03T09:00:00.000+0000"`) {
		t.Errorf("the SMS does not show what was sent: %s", b)
	}
}
