package generator

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// Default factory-test thresholds: the 100 KB of data or the 10th SMS that
// activate a SIM in Factory Test (emnify-api.md §8.2).
const (
	DefaultFactoryTestBytes = 100 * 1024
	DefaultFactoryTestSMS   = 10
)

// Workspace is an emnify organisation with its users, application tokens,
// SIMs, endpoints and SIM batches that wait for registration.
type Workspace struct {
	ID      int64
	Name    string
	Users   []*User
	Tokens  []*AppToken
	IPSpace *IPSpace
	// Factory-test thresholds; a SIM in Factory Test that reaches either
	// is activated by Policy Control.
	FactoryTestBytes int64
	FactoryTestSMS   int
	// Service and tariff profiles endpoints can use; the first of each is
	// the default.
	ServiceProfiles []Profile
	TariffProfiles  []Profile

	sims      []*SIM // live SIMs, by id
	endpoints []*Endpoint
	batches   []*Batch
}

// Ref returns the workspace as events name it.
func (w *Workspace) Ref() OrgRef { return OrgRef{ID: w.ID, Name: w.Name} }

// SIMs returns the workspace's SIMs in id order. The slice is the
// workspace's own: read it, do not keep it across actions.
func (w *Workspace) SIMs() []*SIM { return w.sims }

// Endpoints returns the workspace's endpoints in id order, like SIMs.
func (w *Workspace) Endpoints() []*Endpoint { return w.endpoints }

// Batches returns the workspace's SIM batches, registered or not.
func (w *Workspace) Batches() []*Batch { return w.batches }

// Profile is a service or tariff profile: an id and a name.
type Profile struct {
	ID   int64
	Name string
}

// User is a person with a login to a workspace.
type User struct {
	ID       int64
	Name     string
	Username string // e-mail address
	// Person is who the user is: one person has a user in each workspace
	// they may act in (the platform's roles in several organisations).
	Person int64

	ref *UserRef // what events carry: replaced, never changed, with the user
}

// MemberOf says whether the user's person has a user in the workspace.
func (u *User) MemberOf(w *Workspace) bool {
	return slices.ContainsFunc(w.Users, func(x *User) bool { return x.Person == u.Person })
}

// Ref returns the user as events name them.
// Ref returns what events say of the user; events share it, so it must
// not be changed.
func (u *User) Ref() *UserRef {
	if u.ref != nil {
		return u.ref
	}
	return &UserRef{ID: u.ID, Name: u.Name, Username: u.Username}
}

// AppToken is an application token of a workspace.
type AppToken struct {
	ID          int64
	Description string
}

// SIM is a SIM card of a workspace.
type SIM struct {
	ID             int64
	ICCID          string // 19 digits, without Luhn digit
	IMSI           IMSI
	MSISDN         string
	ProductionDate time.Time
	ActivationDate time.Time // zero until first activated
	Model          int
	Status         SIMStatus
	Endpoint       *Endpoint // nil when no endpoint holds the SIM
	Workspace      *Workspace

	// Factory-test usage so far.
	TestBytes int64
	TestSMS   int
}

// IMSI is the active IMSI of a SIM.
type IMSI struct {
	ID         int64
	IMSI       string
	ImportDate time.Time
}

// ICCIDWithLuhn returns the 20-digit ICCID.
func (s *SIM) ICCIDWithLuhn() string { return WithLuhn(s.ICCID) }

// Endpoint is a device in a workspace.
type Endpoint struct {
	ID                            int64
	Name                          string
	Tags                          *string // nil is written as null
	IMEI                          string  // IMEISV, 16 digits; "" when unknown
	IMEILock                      bool
	IP                            netip.Addr
	ServiceProfile, TariffProfile Profile
	Status                        EndpointStatus
	SIM                           *SIM
	Workspace                     *Workspace
	Created                       time.Time
	LastUpdated                   time.Time
	// Blacklist holds the ids of operators the device may not use, in id
	// order; SMS the messages sent to it through the API, oldest first.
	// Both are replaced, never changed in place: copies share them.
	Blacklist []int64
	SMS       []*SMS
}

// Batch is a batch of SIMs that a workspace registers with its batch
// identification code (BIC). Its SIMs belong to nobody until then.
type Batch struct {
	ID         int64
	BIC        string
	Model      int
	SIMs       []*SIM
	Registered bool
}

// Actor is who performs an action: a user, an application token, or the
// platform's Policy Control. It decides the event's source and whether it
// names a user.
type Actor struct {
	User  *User
	Token *AppToken
}

// PolicyControl is the platform acting on its own.
var PolicyControl = Actor{}

// ByUser returns the actor for a user.
func ByUser(u *User) Actor { return Actor{User: u} }

// ByToken returns the actor for an application token.
func ByToken(t *AppToken) Actor { return Actor{Token: t} }

func (a Actor) source() Source {
	if a.User == nil && a.Token == nil {
		return SourcePolicyControl
	}
	return SourceAPI
}

// name is how deletion descriptions name the actor. For users that is the
// e-mail (docs example 04); for tokens the platform's wording is unknown,
// so this is a guess (design.md).
func (a Actor) name() string {
	switch {
	case a.User != nil:
		return a.User.Username
	case a.Token != nil:
		return "application token " + itoa(a.Token.ID)
	}
	return "Policy Control"
}

type identified interface{ id() int64 }

func (s *SIM) id() int64      { return s.ID }
func (e *Endpoint) id() int64 { return e.ID }

// insertByID inserts x into a slice kept in id order.
func insertByID[T identified](list []T, x T) []T {
	i, _ := slices.BinarySearchFunc(list, x.id(), func(e T, id int64) int { return cmp.Compare(e.id(), id) })
	return slices.Insert(list, i, x)
}

// removeByID removes x from a slice kept in id order.
func removeByID[T identified](list []T, x T) []T {
	i, found := slices.BinarySearchFunc(list, x.id(), func(e T, id int64) int { return cmp.Compare(e.id(), id) })
	if !found {
		return list
	}
	return slices.Delete(list, i, i+1) // zeroes the freed slot
}
