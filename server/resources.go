package server

import (
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// The JSON of SIMs and endpoints, field for field in the recorded order.

// ResourceTimeLayout is how resources spell instants ("+0000", unlike
// events' "Z").
const ResourceTimeLayout = "2006-01-02T15:04:05.000-0700"

func resourceTime(t time.Time) string { return t.UTC().Format(ResourceTimeLayout) }

type idName struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type orgJSON struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Country idName `json:"country"`
}

type modelJSON struct {
	ID           int    `json:"id"`
	Description  string `json:"description"`
	MemorySize   int    `json:"memory_size"`
	Formfactor   idName `json:"formfactor"`
	Manufacturer idName `json:"manufacturer"`
}

// issuerOrg and classicModel are as recorded; the customer's country is
// not known to the mock, so it is Germany (design.md).
var (
	issuerOrg       = orgJSON{ID: 2, Name: "org2", Country: idName{219, "NonTerrestrial 883"}}
	customerCountry = idName{74, "Germany"}
	classicModel    = modelJSON{ID: 4, Description: "Classic", MemorySize: 128, Formfactor: idName{6, "1/2/3FF (3in1) "}, Manufacturer: idName{2, "Bluefish"}}
)

type simJSON struct {
	ID             int64            `json:"id"`
	ICCID          string           `json:"iccid"`
	ProductionDate string           `json:"production_date"`
	ActivationDate string           `json:"activation_date,omitempty"`
	Status         generator.Lookup `json:"status"`
	CustomerOrg    orgJSON          `json:"customer_org"`
	IssuerOrg      orgJSON          `json:"issuer_org"`
	Endpoint       *simEndpointJSON `json:"endpoint,omitempty"`
	IMSI           string           `json:"imsi"`
	MSISDN         string           `json:"msisdn"`
	Model          modelJSON        `json:"model"`
}

type simEndpointJSON struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	IMEI             *string `json:"imei"`
	Created          string  `json:"created"`
	LastUpdated      string  `json:"last_updated"`
	OrganisationID   int64   `json:"organisation_id"`
	ServiceProfileID int64   `json:"service_profile_id"`
	TariffProfileID  int64   `json:"tariff_profile_id"`
	Tags             *string `json:"tags"`
	IPAddress        string  `json:"ip_address"`
	IPAddressSpaceID int64   `json:"ip_address_space_id"`
}

func simResource(s *generator.SIM) simJSON {
	out := simJSON{
		ID: s.ID, ICCID: s.ICCID, ProductionDate: resourceTime(s.ProductionDate), Status: s.Status.Lookup(),
		CustomerOrg: orgJSON{s.Workspace.ID, s.Workspace.Name, customerCountry}, IssuerOrg: issuerOrg,
		IMSI: s.IMSI.IMSI, MSISDN: s.MSISDN, Model: classicModel,
	}
	if !s.ActivationDate.IsZero() {
		out.ActivationDate = resourceTime(s.ActivationDate)
	}
	if ep := s.Endpoint; ep != nil {
		out.Endpoint = &simEndpointJSON{
			ID: ep.ID, Name: ep.Name, IMEI: nullable(ep.IMEI), Created: resourceTime(ep.Created), LastUpdated: resourceTime(ep.LastUpdated),
			OrganisationID: ep.Workspace.ID, ServiceProfileID: ep.ServiceProfile.ID, TariffProfileID: ep.TariffProfile.ID,
			Tags: ep.Tags, IPAddress: ep.IP.String(), IPAddressSpaceID: ep.Workspace.IPSpace.ID,
		}
	}
	return out
}

type endpointJSON struct {
	ID             int64            `json:"id"`
	Name           string           `json:"name"`
	Tags           *string          `json:"tags"`
	Created        string           `json:"created"`
	LastUpdated    string           `json:"last_updated"`
	Status         generator.Lookup `json:"status"`
	ServiceProfile idName           `json:"service_profile"`
	TariffProfile  idName           `json:"tariff_profile"`
	SIM            *endpointSIMJSON `json:"sim,omitempty"`
	IMEI           *string          `json:"imei"`
	IPAddress      string           `json:"ip_address"`
	IPAddressSpace any              `json:"ip_address_space"`
	IMEILock       bool             `json:"imei_lock"`
}

type endpointSIMJSON struct {
	ID     int64            `json:"id"`
	ICCID  string           `json:"iccid"`
	IMSI   string           `json:"imsi"`
	MSISDN string           `json:"msisdn"`
	Status generator.Lookup `json:"status"`
}

type spaceRef struct {
	ID int64 `json:"id"`
}

type spaceJSON struct {
	ID             int64  `json:"id"`
	IPAddressSpace string `json:"ip_address_space"`
	Version        int    `json:"ip_address_version"`
}

// endpointResource is an endpoint as lists show it; full adds the IP
// address space's details, as a single GET does.
func endpointResource(ep *generator.Endpoint, full bool) endpointJSON {
	sp := ep.Workspace.IPSpace
	out := endpointJSON{
		ID: ep.ID, Name: ep.Name, Tags: ep.Tags, Created: resourceTime(ep.Created), LastUpdated: resourceTime(ep.LastUpdated),
		Status: ep.Status.Lookup(), ServiceProfile: idName{ep.ServiceProfile.ID, ep.ServiceProfile.Name},
		TariffProfile: idName{ep.TariffProfile.ID, ep.TariffProfile.Name}, IMEI: nullable(ep.IMEI),
		IPAddress: ep.IP.String(), IPAddressSpace: spaceRef{sp.ID}, IMEILock: ep.IMEILock,
	}
	if full {
		out.IPAddressSpace = spaceJSON{sp.ID, sp.Prefix.String(), 4}
	}
	if s := ep.SIM; s != nil {
		out.SIM = &endpointSIMJSON{ID: s.ID, ICCID: s.ICCID, IMSI: s.IMSI.IMSI, MSISDN: s.MSISDN, Status: s.Status.Lookup()}
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
