package generator

import (
	"encoding/json"
	"strconv"
)

// The "detail" objects of the device-status events, in the docs' key order.
// They are encoded when the event is made, so an event carries its detail as
// bytes and encoding an event never reflects.

// transitionDetail is the detail of a Policy Control activation that ends
// a factory test, with its reason (docs example 02 has the volume's).
func transitionDetail(reason string) json.RawMessage {
	b := []byte(`{"transition":{"sim":{"status":{"from":{"id":4,"description":"FACTORY TEST"},"to":{"id":1,"description":"ACTIVATED"}}},"reason":`)
	b = appendString(b, reason)
	return append(b, '}', '}')
}

// resetDetail is the detail of a connectivity reset (docs example 11).
var resetDetail = json.RawMessage(`{"data":{}}`)

// emptyDetail is the detail of an assignment to an endpoint without IMEI
// (recorded traffic).
var emptyDetail = json.RawMessage(`{}`)

// assignDetail names the endpoint's IMEI when it has one (docs example 10).
func assignDetail(imei string) json.RawMessage {
	if imei == "" {
		return emptyDetail
	}
	b := append([]byte(`{"imei":`), appendString(nil, imei)...)
	return append(b, '}')
}

// batchDetail describes a registered SIM batch (docs example 08).
func batchDetail(b *Batch) json.RawMessage {
	out := []byte(`{"sim_batch":{"id":`)
	out = strconv.AppendInt(out, b.ID, 10)
	out = append(out, `,"sim_model":{"id":`...)
	out = strconv.AppendInt(out, int64(b.Model), 10)
	out = append(out, `},"batch_size":`...)
	out = strconv.AppendInt(out, int64(len(b.SIMs)), 10)
	out = append(out, `,"first_iccid":`...)
	out = appendString(out, b.SIMs[0].ICCID)
	out = append(out, `,"last_iccid":`...)
	out = appendString(out, b.SIMs[len(b.SIMs)-1].ICCID)
	return append(out, "}}"...)
}

// MigrationDetail is the detail of a SIM migration event (docs examples 12
// and 13). It is exported because consumers of the event log (the step
// library) read which SIMs moved.
type MigrationDetail struct {
	TargetWorkspace struct {
		ID int64 `json:"id"`
	} `json:"target_workspace"`
	SIMs []MigratedSIM `json:"sims"`
	Type string        `json:"type"` // "source" or "target"
}

// MigratedSIM is one SIM of a migration.
type MigratedSIM struct {
	ID              int64  `json:"id"`
	ICCID           string `json:"iccid"`
	ICCIDWithLuhn   string `json:"iccid_with_luhn"`
	SourceWorkspace OrgRef `json:"source_workspace"`
}

func (d *MigrationDetail) encode() json.RawMessage {
	b, err := json.Marshal(d) // struct field order is the docs' key order
	if err != nil {
		panic(err) // unreachable: plain structs of strings and ints
	}
	return b
}
