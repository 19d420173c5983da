package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

// TestOperators_AndBlacklist: the operator list as recorded; blacklisting
// as the recorded conversations go: list, PUT (204), PUT again (409 1405
// with the recorded message), DELETE (204), each answer in the recorded
// shape, content type and key order.
func TestOperators_AndBlacklist(t *testing.T) {
	m := mustOpen(t)
	res, b := m.call("GET", "/api/v1/operator", m.token, nil)
	rec := recorded(t, "test_list_device_blacklist.json", "GET", "/api/v1/endpoint/", 200)
	var ops []struct{ ID int64 }
	if json.Unmarshal(b, &ops); res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || len(ops) != 869 {
		t.Fatalf("operators: %d %q, %d operators", res.StatusCode, res.Header.Get("Content-Type"), len(ops))
	}
	ep := fmt.Sprintf("/api/v1/endpoint/%d/operator_blacklist", m.acme().Endpoints()[0].ID)
	if b := m.api("GET", ep, nil, 200); string(b) != "[]" {
		t.Fatalf("a new endpoint's blacklist: %s", b)
	}
	for _, id := range []int{942, 24} {
		rec := recorded(t, "test_add_blacklist_operator.json", "PUT", "/api/v1/endpoint/11380018/operator_blacklist/553", 204)
		res, body := m.call("PUT", fmt.Sprintf("%s/%d", ep, id), m.token, nil)
		if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
			t.Errorf("PUT %d: %d %q %s", id, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	// The recorded list holds exactly operators 24 and 942, in id order.
	res, got := m.call("GET", ep, m.token, nil)
	if string(got) != compactJSON(rec.Response.Body) || res.Header.Get("Content-Type") != rec.Response.Headers["content-type"] {
		t.Errorf("blacklist\n got %s %q\nwant %s", got, res.Header.Get("Content-Type"), compactJSON(rec.Response.Body))
	}
	dup := recorded(t, "test_add_blacklist_operator_error.json", "PUT", "/api/v1/endpoint/", 409)
	epID := m.acme().Endpoints()[0].ID
	res, got = m.call("PUT", fmt.Sprintf("%s/942", ep), m.token, nil)
	want := strings.Replace(compactJSON(dup.Response.Body), "'553'", "'942'", 1)
	want = strings.Replace(want, "'11380018'", fmt.Sprintf("'%d'", epID), 1)
	if res.StatusCode != 409 || string(got) != want {
		t.Errorf("PUT twice: %d %s, want 409 %s", res.StatusCode, got, want)
	}
	del := recorded(t, "test_delete_blacklist_operator.json", "DELETE", "/api/v1/endpoint/", 204)
	res, body := m.call("DELETE", fmt.Sprintf("%s/24", ep), m.token, nil)
	if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("Content-Type") != del.Response.Headers["content-type"] {
		t.Errorf("DELETE: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	m.api("DELETE", fmt.Sprintf("%s/24", ep), nil, 404)
	m.api("PUT", fmt.Sprintf("%s/1", ep), nil, 404) // no such operator
	if b := m.api("GET", ep, nil, 200); !strings.HasPrefix(string(b), `[{"id":942,"name":"MTN","country":{"id":3,`) || strings.Count(string(b), `"id":942`) != 1 {
		t.Errorf("after DELETE: %s", b)
	}
}

// TestSMS: POST answers 201 with Location and no body, GET lists the SMS
// newest first in the recorded shape; an endpoint without SIM cannot get
// one.
func TestSMS(t *testing.T) {
	m := mustOpen(t)
	ep := m.acme().Endpoints()[0]
	path := fmt.Sprintf("/api/v1/endpoint/%d/sms", ep.ID)
	sent := recorded(t, "send_sms_to_device.json", "POST", "/api/v1/endpoint/", 201)
	var ids []string
	for _, payload := range []string{"sample_test_payload", "second"} {
		res, body := m.call("POST", path, m.token, `{"payload":"`+payload+`"}`)
		loc := res.Header.Get("Location")
		if res.StatusCode != 201 || len(body) != 0 || res.Header.Get("Content-Type") != sent.Response.Headers["content-type"] || !strings.HasPrefix(loc, m.http.URL+path+"/") {
			t.Fatalf("POST sms: %d %q %q %s", res.StatusCode, res.Header.Get("Content-Type"), loc, body)
		}
		ids = append(ids, loc[strings.LastIndex(loc, "/")+1:])
	}
	list := recorded(t, "get_all_device_sms.json", "GET", "/api/v1/endpoint/", 200)
	res, got := m.call("GET", path, m.token, nil)
	if g, w := keys(t, got), keys(t, list.Response.Body); g != w || res.Header.Get("Content-Type") != list.Response.Headers["content-type"] {
		t.Errorf("list keys\n got %s\nwant %s", g, w)
	}
	var sms []struct {
		ID      int64  `json:"id"`
		Payload string `json:"payload"`
		ICCID   string `json:"iccid"`
	}
	json.Unmarshal(got, &sms)
	if len(sms) != 2 || sms[0].Payload != "second" || fmt.Sprint(sms[0].ID) != ids[1] || sms[1].ICCID != ep.SIM.ICCID {
		t.Errorf("list %+v", sms)
	}
	m.api("GET", path+"/"+ids[0], nil, 200)
	m.api("POST", path, `{"payload":""}`, 422)
	m.api("POST", path, `{}`, 422)
	var bare *generator.Endpoint
	for _, e := range m.acme().Endpoints() {
		if e.SIM == nil {
			bare = e
		}
	}
	if bare != nil {
		m.api("POST", fmt.Sprintf("/api/v1/endpoint/%d/sms", bare.ID), `{"payload":"x"}`, 409)
	}
}

// TestSMS_EndsTheFactoryTest: nine SMS leave a SIM in Factory Test, the
// tenth makes Policy Control activate it (event 8, transition 4 → 1).
func TestSMS_EndsTheFactoryTest(t *testing.T) {
	m := mustOpen(t)
	var ep *generator.Endpoint
	for _, e := range m.acme().Endpoints() {
		if e.SIM != nil && e.SIM.Status == generator.SIMFactoryTest && e.SIM.TestSMS == 0 && e.SIM.TestBytes == 0 {
			ep = e
			break
		}
	}
	if ep == nil {
		t.Fatal("the default world has no endpoint with a fresh SIM in Factory Test")
	}
	path := fmt.Sprintf("/api/v1/endpoint/%d/sms", ep.ID)
	start := m.srv.Log().Len()
	for i := 1; i <= 9; i++ {
		m.api("POST", path, `{"payload":"test"}`, 201)
	}
	if ep.SIM.Status != generator.SIMFactoryTest || m.srv.Log().Len() != start {
		t.Fatalf("after nine SMS the SIM is %s and the log grew by %d", ep.SIM.Status, m.srv.Log().Len()-start)
	}
	m.api("POST", path, `{"payload":"test"}`, 201)
	raw, _ := m.srv.Log().Since(start)
	if len(raw) != 1 || ep.SIM.Status != generator.SIMActivated {
		t.Fatalf("after the tenth SMS: %d events, SIM %s", len(raw), ep.SIM.Status)
	}
	var e struct {
		Type   struct{ ID int }             `json:"event_type"`
		Source struct{ Description string } `json:"event_source"`
		Detail struct {
			Transition struct{ From, To int } `json:"transition"`
		} `json:"detail"`
	}
	json.Unmarshal(raw[0], &e)
	if e.Type.ID != 8 || !strings.Contains(string(raw[0]), "Policy Control") {
		t.Errorf("event %s", raw[0])
	}
}
