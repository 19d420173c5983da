// Package wire is how the mock's HTTP surfaces answer: emnify's error
// body, its content types, and the small readers and writers the emnify API
// and the control API share.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Content types as recorded: resources and errors say UTF-8 in capitals,
// event lists in lower case, writes with an empty body none at all.
const (
	JSON      = "application/json; charset=UTF-8"
	EventJSON = "application/json; charset=utf-8"
	Bare      = "application/json"
)

// Error is emnify's error body, and the status it is answered with.
type Error struct {
	Status  int     `json:"-"`
	Code    int     `json:"error_code"`
	Token   string  `json:"error_token"`
	Message string  `json:"message"`
	Errors  []Error `json:"errors,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

// WriteError answers an error with its status.
func WriteError(w http.ResponseWriter, e *Error) {
	WriteJSON(w, e.Status, JSON, e)
}

// NoContent answers a write that succeeded: 204, empty body.
func NoContent(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusNoContent)
}

// Internal is a 500 with emnify's body for an error of the platform's own.
func Internal(msg string) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: 1000, Token: "InternalError", Message: msg}
}

// BadRequest is a 400 with emnify's BadRequest body.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: 1000, Token: "BadRequest", Message: msg}
}

// QueryBool reads a boolean query parameter: true, false, 1, 0 or absent
// (false); anything else is refused with 400 naming the parameter, so a
// typo such as ?live=yes does not quietly mean false.
func QueryBool(r *http.Request, name string) (bool, *Error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, BadRequest(fmt.Sprintf("%s must be true or false, got %q", name, v))
	}
}

// ReadBody reads a body that is not JSON (a scenario), with the same limit
// and the same 413 as decode.
func ReadBody(r *http.Request) ([]byte, *Error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if e := TooLarge(err); e != nil {
			return nil, e
		}
		return nil, BadRequest("read body: " + err.Error())
	}
	return b, nil
}

// TooLarge is the answer to a body over the limit, or nil.
func TooLarge(err error) *Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: 1000, Token: "BadRequest", Message: fmt.Sprintf("Request body is too large (more than %d bytes)", tooBig.Limit)}
	}
	return nil
}

// NotFound is the recorded answer for an unknown resource ("Endpoint with
// Id '-1' not found.").
func NotFound(kind string, id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("%s with Id '%s' not found.", kind, id)}
}

// Validation is a 422 with emnify's InputValidationFailed body.
func Validation(msg string, errs ...Error) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: 1400, Token: "InputValidationFailed", Message: msg, Errors: errs}
}
