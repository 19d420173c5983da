package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// Operators, the operator blacklist of an endpoint and SMS to it: routes
// the official SDK calls, shapes and statuses as recorded
// (test_operator_list, test_*_blacklist_operator*, send_sms_to_device,
// get_all_device_sms).
func (s *Server) operatorRoutes(api *mux.Router) {
	api.HandleFunc("/operator", s.handleOperators).Methods("GET")
	api.HandleFunc("/endpoint/{id}/operator_blacklist", s.handleBlacklist).Methods("GET")
	api.HandleFunc("/endpoint/{id}/operator_blacklist/{operator_id}", s.handleBlacklistChange(true)).Methods("PUT")
	api.HandleFunc("/endpoint/{id}/operator_blacklist/{operator_id}", s.handleBlacklistChange(false)).Methods("DELETE")
	api.HandleFunc("/endpoint/{id}/sms", s.handleSMSList).Methods("GET")
	api.HandleFunc("/endpoint/{id}/sms", s.handleSendSMS).Methods("POST")
	api.HandleFunc("/endpoint/{id}/sms/{sms_id}", s.handleSMS).Methods("GET")
}

// handleOperators answers the platform's operator list as recorded.
func (s *Server) handleOperators(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", wire.Bare)
	w.Header().Set("Content-Length", strconv.Itoa(len(generator.OperatorsJSON)))
	w.Write(generator.OperatorsJSON)
}

// handleBlacklist lists an endpoint's blacklisted operators in the
// recorded shape (a shorter one than the operator list's).
func (s *Server) handleBlacklist(w http.ResponseWriter, r *http.Request) {
	s.readEndpoint(w, r, func(ep *generator.Endpoint) {
		out := []*generator.Operator{}
		for _, id := range ep.Blacklist {
			out = append(out, generator.OperatorByID(id))
		}
		wire.WriteJSON(w, http.StatusOK, wire.JSON, out)
	})
}

func (s *Server) handleBlacklistChange(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		opID, apiErr := pathID(r, "operator_id")
		if apiErr != nil {
			wire.WriteError(w, apiErr)
			return
		}
		var epID int64
		err := s.changeEndpoint(r, func(ep *generator.Endpoint) ([]generator.Event, error) {
			epID = ep.ID
			if add {
				return nil, s.world.Platform.BlacklistOperator(ep, opID)
			}
			return nil, s.world.Platform.UnblacklistOperator(ep, opID)
		})
		switch generator.ErrorCode(err) {
		case generator.Duplicated: // the recorded message
			wire.WriteError(w, &wire.Error{Status: http.StatusConflict, Code: 1405, Token: "Duplicated",
				Message: fmt.Sprintf("Operator with Id '%d' is already blacklisted on Endpoint with Id '%d'.", opID, epID)})
		case generator.NotFound: // inferred: emnify's not-found body
			wire.WriteError(w, wire.NotFound("Operator", strconv.FormatInt(opID, 10)))
		default:
			s.finish(w, err, wire.Bare)
		}
	}
}

// handleSendSMS sends an SMS: 201, no body, text/html and Location, as
// recorded. An SMS to a SIM in Factory Test counts towards its test volume;
// the one that reaches the threshold appends Policy Control's event 8.
func (s *Server) handleSendSMS(w http.ResponseWriter, r *http.Request) {
	// The fields the official SDK's SmsCreateModel may send.
	var body struct {
		Payload           *string           `json:"payload"`
		SourceAddress     *string           `json:"source_address"`
		SourceAddressType *generator.Lookup `json:"source_address_type"`
		ExpiryDate        *string           `json:"expiry_date"`
		UDH               *string           `json:"udh"`
		DCS               *int              `json:"dcs"`
	}
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	if body.Payload == nil {
		wire.WriteError(w, wire.Validation("Send SMS validation error", wire.Error{Code: 1402, Token: "Required", Message: "SMS - payload is required."}))
		return
	}
	if body.ExpiryDate != nil {
		if _, err := time.Parse(time.RFC3339, *body.ExpiryDate); err != nil {
			wire.WriteError(w, wire.Validation("Send SMS validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: "SMS - expiry_date must be an RFC 3339 instant."}))
			return
		}
	}
	var sent *generator.SMS
	var epID int64
	err := s.changeEndpoint(r, func(ep *generator.Endpoint) ([]generator.Event, error) {
		epID = ep.ID
		m, events, err := s.world.Platform.SendSMS(ep, *body.Payload)
		sent = m
		if err == nil { // a new record of this change: set before anyone sees it
			m.Source, m.SourceType = deref(body.SourceAddress), body.SourceAddressType
			m.UDH, m.Expiry = deref(body.UDH), deref(body.ExpiryDate)
			if body.DCS != nil {
				m.DCS = *body.DCS
			}
		}
		return events, err
	})
	if err != nil {
		s.finish(w, err, wire.Bare)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/endpoint/%d/sms/%d", baseURL(r), epID, sent.ID))
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusCreated)
}

// handleSMSList lists the SMS sent to an endpoint, newest first (recorded).
func (s *Server) handleSMSList(w http.ResponseWriter, r *http.Request) {
	s.readEndpoint(w, r, func(ep *generator.Endpoint) {
		out := []smsJSON{}
		for i := len(ep.SMS) - 1; i >= 0; i-- {
			out = append(out, smsView(ep, ep.SMS[i]))
		}
		wire.WriteJSON(w, http.StatusOK, wire.Bare, out)
	})
}

func (s *Server) handleSMS(w http.ResponseWriter, r *http.Request) {
	id, apiErr := pathID(r, "sms_id")
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	s.readEndpoint(w, r, func(ep *generator.Endpoint) {
		for _, m := range ep.SMS {
			if m.ID == id {
				wire.WriteJSON(w, http.StatusOK, wire.Bare, smsView(ep, m))
				return
			}
		}
		wire.WriteError(w, wire.NotFound("SMS", strconv.FormatInt(id, 10)))
	})
}

// smsJSON is an SMS in the recorded shape and key order. The mock
// delivers nothing: every SMS shows the one status recorded, EXPIRED,
// with the recorded day of validity; the delivery fields are those of the
// recording (inferred for a device that never answers).
type smsJSON struct {
	DLRStatusID         string  `json:"dlr_status_id"`
	OrganisationID      string  `json:"organisation_id"`
	SubmitDate          string  `json:"submit_date"`
	DeliveryDate        string  `json:"delivery_date"`
	ExpiryDate          string  `json:"expiry_date"`
	FinalDate           string  `json:"final_date"`
	RetryDate           string  `json:"retry_date"`
	LastDeliveryAttempt string  `json:"last_delivery_attempt"`
	RetryCount          string  `json:"retry_count"`
	GSMMapError         *string `json:"gsm_map_error"`
	DCS                 string  `json:"dcs"`
	PID                 string  `json:"pid"`
	SourceAddress       string  `json:"source_address"`
	EndpointID          string  `json:"endpoint_id"`
	SIMID               string  `json:"sim_id"`
	ICCID               string  `json:"iccid"`
	CalledPartyPrefix   *string `json:"called_party_prefix"`
	MSISDN              string  `json:"msisdn"`
	IMSI                string  `json:"imsi"`
	MSC                 *string `json:"msc"`
	UDH                 string  `json:"udh"`
	Payload             string  `json:"payload"`
	RegisteredDelivery  string  `json:"registered_delivery"`
	SMPPBindID          *string `json:"smpp_bind_id"`
	P2PExt              int     `json:"p2p_ext"`
	SMPPDLRBindID       *string `json:"smpp_dlr_bind_id"`
	ID                  int64   `json:"id"`
	Status              idDesc  `json:"status"`
	SMSType             idDesc  `json:"sms_type"`
	SourceAddressType   idDesc  `json:"source_address_type"`
	ESMEInterfaceType   idDesc  `json:"esme_interface_type"`
}

// idDesc is a lookup written description first, as the SMS records are.
type idDesc struct {
	Description string `json:"description"`
	ID          int    `json:"id"`
}

func smsView(ep *generator.Endpoint, m *generator.SMS) smsJSON {
	expiry := m.Submitted.Add(24 * time.Hour)
	if t, err := time.Parse(time.RFC3339, m.Expiry); err == nil {
		expiry = t
	}
	source := m.Source
	if source == "" {
		source = "EMnify" // recorded
	}
	sourceType := idDesc{"Alphanumeric", 208} // recorded
	if m.SourceType != nil {
		sourceType = idDesc{m.SourceType.Description, m.SourceType.ID}
	}
	return smsJSON{DLRStatusID: "4", OrganisationID: strconv.FormatInt(m.Org, 10),
		SubmitDate: resourceTime(m.Submitted), DeliveryDate: resourceTime(m.Submitted), ExpiryDate: resourceTime(expiry), FinalDate: resourceTime(expiry),
		RetryDate: resourceTime(expiry), LastDeliveryAttempt: resourceTime(expiry), RetryCount: "0", DCS: strconv.Itoa(m.DCS), PID: "0", UDH: m.UDH,
		SourceAddress: source, EndpointID: strconv.FormatInt(ep.ID, 10), SIMID: strconv.FormatInt(m.SIMID, 10),
		ICCID: m.ICCID, MSISDN: m.MSISDN, Payload: m.Payload, RegisteredDelivery: "0", ID: m.ID,
		Status: idDesc{"EXPIRED", 6}, SMSType: idDesc{"MT", 1}, SourceAddressType: sourceType,
		ESMEInterfaceType: idDesc{"RestAPI", 1}}
}
