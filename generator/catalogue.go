// Package generator is the emnify domain: the event model and catalogue,
// identities, workspaces with their SIMs and endpoints, the state machines
// that turn actions into the platform's events, a clock that can be virtual,
// and the fleet churn that drives them. It does no I/O and imports nothing
// else of this module; the scenario interpreter is the plan package.
//
// Who may change the world: only the Platform's actions, and only inside a
// change (Platform.Do, DoAt, DryRun; the plan package's runs use them),
// which is all or nothing: a refused change leaves no trace, down to the
// next id and random draw. The platform's clock is given once, when the
// world is made, and a change carries its instant.
package generator

// Lookup is emnify's {id, description} pair, used for event types, sources,
// severities and statuses.
type Lookup struct {
	ID          int    `json:"id"`
	Description string `json:"description"`
}

// EventType is an emnify event type id.
type EventType int

// The device-status event types: the family this tool generates.
const (
	TypeSIMActivation     EventType = 8
	TypeSIMSuspension     EventType = 9
	TypeSIMDeletion       EventType = 10
	TypeEndpointEnabled   EventType = 42
	TypeEndpointDisabled  EventType = 43
	TypeSIMFactoryTest    EventType = 45
	TypeSIMRegistration   EventType = 48
	TypeSIMReleased       EventType = 50
	TypeSIMAssigned       EventType = 51
	TypeResetConnectivity EventType = 68
	TypeSIMMigration      EventType = 69
)

// SIMStatusAfter returns the status a SIM is in after an event of the
// type, for the types that set one.
func (t EventType) SIMStatusAfter() (SIMStatus, bool) {
	switch t {
	case TypeSIMActivation:
		return SIMActivated, true
	case TypeSIMSuspension:
		return SIMSuspended, true
	case TypeSIMDeletion:
		return SIMDeleted, true
	case TypeSIMFactoryTest:
		return SIMFactoryTest, true
	case TypeSIMRegistration:
		return SIMIssued, true
	}
	return 0, false
}

// DeviceStatusTypes lists the device-status event types in id order.
var DeviceStatusTypes = []EventType{
	TypeSIMActivation, TypeSIMSuspension, TypeSIMDeletion,
	TypeEndpointEnabled, TypeEndpointDisabled, TypeSIMFactoryTest,
	TypeSIMRegistration, TypeSIMReleased, TypeSIMAssigned,
	TypeResetConnectivity, TypeSIMMigration,
}

// EventTypes is every emnify event type with its description, as
// GET /api/v1/event/type returns them (emnify-api.md §4.2). Ids missing from
// the platform's list are missing here too.
var EventTypes = []Lookup{
	{0, "Generic"},
	{1, "Update location"},
	{2, "Update GPRS location"},
	{3, "Create PDP Context"},
	{4, "Update PDP Context"},
	{5, "Delete PDP Context"},
	{6, "User authentication failed"},
	{7, "Application authentication failed"},
	{8, "SIM activation"},
	{9, "SIM suspension"},
	{10, "SIM deletion"},
	{11, "Endpoint blocked"},
	{12, "Organisation blocked"},
	{13, "Support Access"},
	{14, "Multi-factor Authentication"},
	{15, "Purge location"},
	{16, "Purge GPRS location"},
	{17, "Self-Signup"},
	{18, "Quota threshold reached"},
	{19, "Quota used up"},
	{20, "SMS quota threshold reached"},
	{21, "SMS quota used up"},
	{22, "CloudConnect TGW Resource Share created"},
	{23, "CloudConnect TGW available"},
	{25, "CloudConnect TGW breakout terminated"},
	{30, "OpenVPN authentication"},
	{31, "Organisation updated"},
	{32, "Billing configuration updated"},
	{36, "User invited"},
	{37, "Password reset requested"},
	{40, "User verification requested"},
	{41, "User verified"},
	{42, "Endpoint enabled"},
	{43, "Endpoint disabled"},
	{45, "SIM factory test"},
	{46, "User deleted"},
	{48, "SIM registration"},
	{50, "SIM Released"},
	{51, "SIM Assigned"},
	{52, "Data quota enabled"},
	{53, "Data quota disabled"},
	{54, "SMS quota enabled"},
	{55, "SMS quota disabled"},
	{56, "Data quota assigned"},
	{57, "Data quota deleted"},
	{58, "SMS quota assigned"},
	{59, "SMS quota deleted"},
	{60, "Data quota expired"},
	{67, "User switched workspaces"},
	{68, "Reset connectivity"},
	{69, "SIM migration"},
}

var eventTypeByID = func() map[EventType]Lookup {
	m := make(map[EventType]Lookup, len(EventTypes))
	for _, t := range EventTypes {
		m[EventType(t.ID)] = t
	}
	return m
}()

// Lookup returns the type's id and description; ok is false for an id
// emnify does not define.
func (t EventType) Lookup() (l Lookup, ok bool) {
	l, ok = eventTypeByID[t]
	return l, ok
}

// String returns the type's description, or its number when unknown.
func (t EventType) String() string {
	if l, ok := t.Lookup(); ok {
		return l.Description
	}
	return "event type " + itoa(int64(t))
}

// Source is where an event comes from.
type Source int

// Event sources.
const (
	SourceNetwork       Source = 0
	SourcePolicyControl Source = 1
	SourceAPI           Source = 2
)

// Sources lists the event sources.
var Sources = []Lookup{{0, "Network"}, {1, "Policy Control"}, {2, "API"}}

// Lookup returns the source's id and description.
func (s Source) Lookup() Lookup { return Sources[s] }

// Severity is how serious an event is.
type Severity int

// Event severities.
const (
	SeverityInfo     Severity = 0
	SeverityWarn     Severity = 1
	SeverityCritical Severity = 2
)

// Severities lists the event severities, spelled as the REST API does.
var Severities = []Lookup{{0, "Info"}, {1, "Warn"}, {2, "Critical"}}

// Lookup returns the severity's id and description.
func (s Severity) Lookup() Lookup { return Severities[s] }

// SIMStatus is the status of a SIM (GET /api/v1/sim/status).
type SIMStatus int

// SIM statuses.
const (
	SIMIssued      SIMStatus = 0
	SIMActivated   SIMStatus = 1
	SIMSuspended   SIMStatus = 2
	SIMDeleted     SIMStatus = 3
	SIMFactoryTest SIMStatus = 4
)

// SIMStatuses lists the SIM statuses in id order.
var SIMStatuses = []Lookup{{0, "Issued"}, {1, "Activated"}, {2, "Suspended"}, {3, "Deleted"}, {4, "Factory Test"}}

// Valid reports whether the status is one the platform has.
func (s SIMStatus) Valid() bool { return s >= 0 && int(s) < len(SIMStatuses) }

// Lookup returns the status's id and description.
func (s SIMStatus) Lookup() Lookup { return lookup(SIMStatuses, int(s)) }

// String returns the status as event descriptions spell it ("Factory Test").
func (s SIMStatus) String() string { return s.Lookup().Description }

// lookup returns the list's entry for id, or one that says the id is
// unknown: an invalid status is refused at the API's edge, but it must
// never crash what prints it.
func lookup(l []Lookup, id int) Lookup {
	if id < 0 || id >= len(l) {
		return Lookup{ID: id, Description: "unknown status " + itoa(int64(id))}
	}
	return l[id]
}

// EndpointStatus is the status of an endpoint (GET /api/v1/endpoint/status).
type EndpointStatus int

// Endpoint statuses.
const (
	EndpointEnabled  EndpointStatus = 0
	EndpointDisabled EndpointStatus = 1
	EndpointDeleted  EndpointStatus = 2
)

// EndpointStatuses lists the endpoint statuses in id order.
var EndpointStatuses = []Lookup{{0, "Enabled"}, {1, "Disabled"}, {2, "Deleted"}}

// Valid reports whether the status is one the platform has.
func (s EndpointStatus) Valid() bool { return s >= 0 && int(s) < len(EndpointStatuses) }

// Lookup returns the status's id and description.
func (s EndpointStatus) Lookup() Lookup { return lookup(EndpointStatuses, int(s)) }

// String returns the status's description.
func (s EndpointStatus) String() string { return s.Lookup().Description }
