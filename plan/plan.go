package plan

import (
	"net/netip"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Plan is a scenario in Go terms: workspaces with their fleets, and steps
// that act on them over (virtual) time. The scenarios package builds plans
// from YAML; Run turns one into events.
type Plan struct {
	Name       string
	Start      time.Time // default DefaultStart
	Workspaces []WorkspacePlan
	Steps      []Step
	Expect     *Expectation // nil: nothing checked
	// MaxEvents is the budget of a run: events it may make, SIMs and
	// endpoints it may provision (and ten steps per event); 0 takes
	// DefaultMaxEvents. A plan over budget is refused before it runs,
	// from an upper bound of what it makes.
	MaxEvents int
}

// WorkspacePlan is a workspace and the fleet it starts with.
type WorkspacePlan struct {
	Key     string       // how steps refer to the workspace
	Name    string       // organisation name; "" for a realistic one
	Users   []string     // user keys, also their first names; default one "admin"
	Tokens  []string     // application-token keys; default one "default"
	IPSpace netip.Prefix // default a random /20
	// Factory-test thresholds; zero takes the platform's default.
	FactoryTestBytes int64
	FactoryTestSMS   int
	Groups           []GroupPlan
}

// GroupKind says what a group holds.
type GroupKind int

// Group kinds.
const (
	GroupSIMs GroupKind = iota
	GroupEndpoints
	GroupBatches
)

// GroupPlan is a named set of entities a workspace starts with.
type GroupPlan struct {
	Pos   string // where it was declared, for messages
	Name  string
	Kind  GroupKind
	Count int
	// SIM groups: the status SIMs start in, and whether each gets an
	// endpoint (nil: none).
	Status   generator.SIMStatus
	Endpoint *EndpointTemplate
	// SIM groups with endpoints: an endpoint group to put them in too.
	EndpointGroup string
	// Batch groups: SIMs per batch.
	BatchSize int
}

// EndpointTemplate describes endpoints made for a group.
type EndpointTemplate struct {
	Name   string // "{n}" is the member's number from 1; "" for "<kind> <n>"
	Status generator.EndpointStatus
	Tags   *string
	IMEI   bool // give each endpoint an IMEISV; false leaves it null
}

// Action is what a step does.
type Action int

// The actions of the state machines.
const (
	ActNone Action = iota
	ActRegister
	ActFactoryTest
	ActReportUsage
	ActActivate
	ActSuspend
	ActDelete
	ActCreateEndpoint
	ActEnable
	ActDisable
	ActAssign
	ActRelease
	ActResetConnectivity
	ActDeleteEndpoint
	ActMigrate
	ActSendSMS
)

// Actions maps the actions' names, as scenarios spell them, to actions.
var Actions = map[string]Action{
	"register": ActRegister, "factory-test": ActFactoryTest, "report-usage": ActReportUsage,
	"activate": ActActivate, "suspend": ActSuspend, "delete": ActDelete,
	"create-endpoint": ActCreateEndpoint, "enable": ActEnable, "disable": ActDisable,
	"assign": ActAssign, "release": ActRelease, "reset-connectivity": ActResetConnectivity,
	"delete-endpoint": ActDeleteEndpoint, "migrate": ActMigrate, "send-sms": ActSendSMS,
}

// String returns the action's scenario name.
func (a Action) String() string {
	for name, x := range Actions {
		if x == a {
			return name
		}
	}
	return "none"
}

// Target selects members of a group.
type Target struct {
	Group    string
	From, To int // members [From, To); To == 0 means to the end
	// Pick > 0 acts on that many random members for which the action is
	// legal; members where it is refused are skipped, not errors.
	Pick int
}

// Step is one thing a scenario does: an action on a target, or a block
// that repeats steps or chooses among them. Timing: a step starts At after
// the plan's start (if HasAt), else After the previous step; Every spaces
// the members of a target, or is the period (start to start) of a
// repeat's iterations; Jitter adds a random extra of up to its value to
// each of those.
type Step struct {
	Pos    string // "file:line:column", for messages
	HasAt  bool
	At     time.Duration
	After  time.Duration
	Every  time.Duration
	Jitter time.Duration

	Action Action
	Target Target
	As     string // actor: a user or token key, or "platform"; default the first user

	Data        int64               // report-usage: bytes
	SMS         int                 // report-usage
	Payload     string              // send-sms
	Status      generator.SIMStatus // register: what the SIMs become
	To          string              // migrate: target workspace key
	AutoDetach  bool                // migrate
	SIMs        Target              // assign: SIMs paired in order with the target's endpoints
	Endpoint    EndpointTemplate
	KeepSIM     bool   // create-endpoint: leave an Issued SIM Issued (default: activate it)
	FactoryTest bool   // create-endpoint: put an Issued SIM in Factory Test
	Into        string // create-endpoint: endpoint group that receives the new endpoints
	Count       int    // create-endpoint without target: how many
	Workspace   string // create-endpoint without target: where

	Repeat int           // repeat the Steps this often...
	For    time.Duration // ...or until this much time has passed
	Steps  []Step
	Choose []Choice // pick one by weight each time the step runs
}

// Choice is one weighted alternative of a choose step.
type Choice struct {
	Weight int
	Step   Step
}

// Expectation is what a plan must produce, checked when it has run.
type Expectation struct {
	Pos      string
	Types    []generator.EventType // each must appear at least once
	Sequence []generator.EventType // the exact sequence of event types, if set
	Count    int                   // the exact number of events, if HasCount
	HasCount bool
}
