package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// TimestampLayout is how events spell instants: milliseconds, UTC, "Z".
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// Event is one emnify event as the REST API and the Data Streamer carry it.
//
// Its JSON is written by hand, not by encoding/json, for two reasons: the
// docs' key order differs between event types (a registration puts "sim"
// before "user"), and generation must be fast. Optional parts are pointers:
// nil means the key is absent, as in the platform's events.
type Event struct {
	Timestamp    time.Time
	Alert        bool
	Description  string
	ID           int64
	Type         Lookup
	Source       Lookup
	Severity     Lookup
	Organisation OrgRef
	User         *UserRef
	Endpoint     *EndpointRef
	SIM          *SIMRef
	IMSI         *IMSIRef
	// Detail is the type-specific "detail" object, already encoded; nil
	// means absent.
	Detail json.RawMessage
	// FiledUnder is the endpoint the platform files the event under when
	// its JSON has no "endpoint" key: the events of creating an endpoint
	// with a SIM are listed by GET /endpoint/{id}/event (recorded). It is
	// not part of the JSON.
	FiledUnder int64
}

// OrgRef is the organisation (workspace) an event belongs to.
type OrgRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// UserRef is the user who caused an event. Events caused with an
// application token or by Policy Control have none.
type UserRef struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

// EndpointRef is the endpoint (device) an event is about.
type EndpointRef struct {
	ID        int64   `json:"id"`
	IMEI      string  `json:"imei"` // "" is written as null
	IPAddress string  `json:"ip_address"`
	Name      string  `json:"name"`
	Tags      *string `json:"tags"`
}

// SIMRef is the SIM an event is about.
type SIMRef struct {
	ICCID          string    `json:"iccid"`
	ID             int64     `json:"id"`
	ProductionDate time.Time `json:"production_date"`
}

// IMSIRef is the IMSI of the SIM an event is about.
type IMSIRef struct {
	ID         int64     `json:"id"`
	ImportDate time.Time `json:"import_date"`
	IMSI       string    `json:"imsi"`
}

// EventType returns the event's type id.
func (e *Event) EventType() EventType { return EventType(e.Type.ID) }

// MarshalJSON encodes the event exactly as the platform does.
func (e Event) MarshalJSON() ([]byte, error) { return e.JSON(), nil }

// JSON returns the event's JSON in a slice of its own, sized to fit. It
// is written in a pooled buffer first: appended to nil, the slice grew
// seven times on the way to an event's ~660 bytes, which was most of what
// generate allocated.
func (e *Event) JSON() []byte {
	buf := scratch.Get().(*[]byte)
	*buf = e.AppendJSON((*buf)[:0])
	out := bytes.Clone(*buf)
	scratch.Put(buf)
	return out
}

var scratch = sync.Pool{New: func() any { return new([]byte) }}

// AppendJSON appends the event's JSON (no trailing newline) to b.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendTime(b, e.Timestamp)
	b = append(b, `,"alert":`...)
	b = strconv.AppendBool(b, e.Alert)
	b = append(b, `,"description":`...)
	b = appendString(b, e.Description)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = appendLookup(append(b, `,"event_type":`...), e.Type)
	b = appendLookup(append(b, `,"event_source":`...), e.Source)
	b = appendLookup(append(b, `,"event_severity":`...), e.Severity)
	b = append(b, `,"organisation":{"id":`...)
	b = strconv.AppendInt(b, e.Organisation.ID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, e.Organisation.Name)
	b = append(b, '}')
	if e.Type.ID == int(TypeSIMRegistration) {
		// The docs' registration example puts "sim" before "user".
		b = e.appendSIM(b)
		b = e.appendUser(b)
	} else {
		b = e.appendUser(b)
		b = e.appendEndpoint(b)
		b = e.appendSIM(b)
		b = e.appendIMSI(b)
	}
	if e.Detail != nil {
		b = append(b, `,"detail":`...)
		b = append(b, e.Detail...)
	}
	return append(b, '}')
}

func (e *Event) appendUser(b []byte) []byte {
	if e.User == nil {
		return b
	}
	b = append(b, `,"user":{"id":`...)
	b = strconv.AppendInt(b, e.User.ID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, e.User.Name)
	b = append(b, `,"username":`...)
	b = appendString(b, e.User.Username)
	return append(b, '}')
}

func (e *Event) appendEndpoint(b []byte) []byte {
	ep := e.Endpoint
	if ep == nil {
		return b
	}
	b = append(b, `,"endpoint":{"id":`...)
	b = strconv.AppendInt(b, ep.ID, 10)
	b = append(b, `,"imei":`...)
	if ep.IMEI == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, ep.IMEI)
	}
	b = append(b, `,"ip_address":`...)
	b = appendString(b, ep.IPAddress)
	b = append(b, `,"name":`...)
	b = appendString(b, ep.Name)
	b = append(b, `,"tags":`...)
	if ep.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *ep.Tags)
	}
	return append(b, '}')
}

func (e *Event) appendSIM(b []byte) []byte {
	if e.SIM == nil {
		return b
	}
	b = append(b, `,"sim":{"iccid":`...)
	b = appendString(b, e.SIM.ICCID)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.SIM.ID, 10)
	b = append(b, `,"production_date":`...)
	b = appendTime(b, e.SIM.ProductionDate)
	return append(b, '}')
}

func (e *Event) appendIMSI(b []byte) []byte {
	if e.IMSI == nil {
		return b
	}
	b = append(b, `,"imsi":{"id":`...)
	b = strconv.AppendInt(b, e.IMSI.ID, 10)
	b = append(b, `,"import_date":`...)
	b = appendTime(b, e.IMSI.ImportDate)
	b = append(b, `,"imsi":`...)
	b = appendString(b, e.IMSI.IMSI)
	return append(b, '}')
}

// eventJSON mirrors the wire form for decoding; encoding goes through
// AppendJSON.
type eventJSON struct {
	Timestamp    string          `json:"timestamp"`
	Alert        bool            `json:"alert"`
	Description  string          `json:"description"`
	ID           int64           `json:"id"`
	Type         Lookup          `json:"event_type"`
	Source       Lookup          `json:"event_source"`
	Severity     Lookup          `json:"event_severity"`
	Organisation OrgRef          `json:"organisation"`
	User         *UserRef        `json:"user"`
	Endpoint     *endpointJSON   `json:"endpoint"`
	SIM          *refJSON        `json:"sim"`
	IMSI         *refJSON        `json:"imsi"`
	Detail       json.RawMessage `json:"detail"`
}

type endpointJSON struct {
	ID        int64   `json:"id"`
	IMEI      *string `json:"imei"`
	IPAddress string  `json:"ip_address"`
	Name      string  `json:"name"`
	Tags      *string `json:"tags"`
}

type refJSON struct {
	ID             int64  `json:"id"`
	ICCID          string `json:"iccid"`
	ProductionDate string `json:"production_date"`
	IMSI           string `json:"imsi"`
	ImportDate     string `json:"import_date"`
}

// UnmarshalJSON decodes an event written by AppendJSON or by the platform.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w eventJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	ts, err := parseTime(w.Timestamp)
	if err != nil {
		return fmt.Errorf("event %d: timestamp: %w", w.ID, err)
	}
	*e = Event{
		Timestamp: ts, Alert: w.Alert, Description: w.Description, ID: w.ID,
		Type: w.Type, Source: w.Source, Severity: w.Severity,
		Organisation: w.Organisation, User: w.User,
	}
	if w.Endpoint != nil {
		ep := &EndpointRef{ID: w.Endpoint.ID, IPAddress: w.Endpoint.IPAddress, Name: w.Endpoint.Name, Tags: w.Endpoint.Tags}
		if w.Endpoint.IMEI != nil {
			ep.IMEI = *w.Endpoint.IMEI
		}
		e.Endpoint = ep
	}
	if w.SIM != nil {
		pd, err := parseTime(w.SIM.ProductionDate)
		if err != nil {
			return fmt.Errorf("event %d: sim production_date: %w", w.ID, err)
		}
		e.SIM = &SIMRef{ICCID: w.SIM.ICCID, ID: w.SIM.ID, ProductionDate: pd}
	}
	if w.IMSI != nil {
		id, err := parseTime(w.IMSI.ImportDate)
		if err != nil {
			return fmt.Errorf("event %d: imsi import_date: %w", w.ID, err)
		}
		e.IMSI = &IMSIRef{ID: w.IMSI.ID, ImportDate: id, IMSI: w.IMSI.IMSI}
	}
	if len(w.Detail) > 0 && string(w.Detail) != "null" {
		var b bytes.Buffer
		if err := json.Compact(&b, w.Detail); err != nil {
			return fmt.Errorf("event %d: detail: %w", w.ID, err)
		}
		e.Detail = b.Bytes()
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// appendTime appends t as TimestampLayout, quoted. Written out rather
// than with time.AppendFormat, which parses the layout for every event.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, TimestampLayout)
		return append(b, '"')
	}
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+t.Nanosecond()/1e8), byte('0'+t.Nanosecond()/1e7%10), byte('0'+t.Nanosecond()/1e6%10), 'Z', '"')
}

func appendLookup(b []byte, l Lookup) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(l.ID), 10)
	b = append(b, `,"description":`...)
	b = appendString(b, l.Description)
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			q, _ := json.Marshal(s) // rare: names with quotes or non-ASCII
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plain tells the bytes that encoding/json writes as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
