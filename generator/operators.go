package generator

import (
	_ "embed"
	"encoding/json"
	"slices"
	"sync"
)

// OperatorsJSON is the platform's list of mobile network operators, as
// GET /api/v1/operator answers it: recorded from the real API (the
// official Python SDK's test cassettes, Apache License 2.0), 869
// operators, byte for byte but for whitespace.
//
//go:embed operators.json
var OperatorsJSON []byte

// Operator is a mobile network operator a device may roam on.
type Operator struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Country struct {
		ID          int64  `json:"id"`
		Name        string `json:"name"`
		CountryCode string `json:"country_code"`
		MCC         string `json:"mcc"`
		ISOCode     string `json:"iso_code"`
	} `json:"country"`
	Tapcode []struct {
		ID      int64  `json:"id"`
		Tapcode string `json:"tapcode"`
	} `json:"tapcode"`
	MNC []struct {
		ID  int64  `json:"id"`
		MNC string `json:"mnc"`
	} `json:"mnc"`
}

var operators = sync.OnceValue(func() map[int64]*Operator {
	var list []*Operator
	if err := json.Unmarshal(OperatorsJSON, &list); err != nil {
		panic("generator: operators.json: " + err.Error()) // embedded: a build error
	}
	byID := make(map[int64]*Operator, len(list))
	for _, o := range list {
		byID[o.ID] = o
	}
	return byID
})

// OperatorByID returns an operator of the platform's list, or nil.
func OperatorByID(id int64) *Operator { return operators()[id] }

// BlacklistOperator keeps the endpoint's device off an operator's
// network. No event: the platform emits none for it.
func (p *Platform) BlacklistOperator(ep *Endpoint, operatorID int64) error {
	switch {
	case ep.Status == EndpointDeleted:
		return refuse(NotFound, endpointSubject(ep), "change its operator blacklist")
	case OperatorByID(operatorID) == nil:
		return refuse(NotFound, "operator "+itoa(operatorID)+" does not exist", "be blacklisted")
	case slices.Contains(ep.Blacklist, operatorID):
		return &Error{Code: Duplicated, Subject: "operator " + itoa(operatorID) + " is blacklisted on endpoint " + itoa(ep.ID), Action: "blacklist it again"}
	}
	Save(p, ep)
	ep.Blacklist = slices.Insert(slices.Clip(ep.Blacklist), sortedIndex(ep.Blacklist, operatorID), operatorID)
	return nil
}

// UnblacklistOperator lets the device on an operator's network again.
func (p *Platform) UnblacklistOperator(ep *Endpoint, operatorID int64) error {
	i := slices.Index(ep.Blacklist, operatorID)
	if i < 0 {
		return refuse(NotFound, "operator "+itoa(operatorID)+" is not blacklisted on endpoint "+itoa(ep.ID), "be removed from it")
	}
	Save(p, ep)
	ep.Blacklist = slices.Delete(slices.Clone(ep.Blacklist), i, i+1)
	return nil
}

func sortedIndex(list []int64, x int64) int {
	i, _ := slices.BinarySearch(list, x)
	return i
}
