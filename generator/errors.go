package generator

import "errors"

// Code classifies why the platform refused an action; the REST API maps it
// to an HTTP status.
type Code int

// Refusal codes.
const (
	// Conflict: the entity's state does not allow the action (409).
	Conflict Code = iota + 1
	// Invalid: the request itself is wrong (422).
	Invalid
	// NotFound: a referenced entity does not exist (404).
	NotFound
	// Duplicated: what the action would add is there already (409).
	Duplicated
	// Forbidden: the actor may not do this (403).
	Forbidden
)

// Error is the platform refusing an action. It says what and why, as in
// "SIM 8988303000000000129 is Deleted: cannot activate". A refused action
// changes nothing and emits no event.
type Error struct {
	Code    Code
	Subject string // "SIM 8988303000000000129 is Deleted"
	Action  string // "activate"
}

func (e *Error) Error() string { return e.Subject + ": cannot " + e.Action }

// ErrorCode returns the code of the first *Error in err's chain, or 0.
func ErrorCode(err error) Code {
	var e *Error
	var m *MigrationRefused
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, &m):
		return Conflict
	}
	return 0
}

func refuse(code Code, subject, action string) error {
	return &Error{Code: code, Subject: subject, Action: action}
}
