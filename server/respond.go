package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Content types as recorded: resources and errors say UTF-8 in capitals,
// event lists in lower case, writes with an empty body none at all.
const (
	ctJSON      = "application/json; charset=UTF-8"
	ctEventJSON = "application/json; charset=utf-8"
	ctBare      = "application/json"
)

// apiError is emnify's error body.
type apiError struct {
	status  int
	Code    int        `json:"error_code"`
	Token   string     `json:"error_token"`
	Message string     `json:"message"`
	Errors  []apiError `json:"errors,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, ctJSON, e)
}

// noContent answers a write that succeeded: 204, empty body.
func noContent(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusNoContent)
}

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: 1000, Token: "BadRequest", Message: msg}
}

// notFound is the recorded answer for an unknown endpoint ("Endpoint with
// Id '-1' not found.").
func notFound(kind string, id string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: 1401, Token: "InvalidReference", Message: fmt.Sprintf("%s with Id '%s' not found.", kind, id)}
}

func validation(msg string, errs ...apiError) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, Code: 1400, Token: "InputValidationFailed", Message: msg, Errors: errs}
}

// refusal maps the state machine's refusal to emnify's status and body.
// The exact codes emnify uses for state conflicts are not recorded; 409
// with 1406 NotAllowed follows its error docs (design.md).
func refusal(err error) *apiError {
	switch generator.ErrorCode(err) {
	case generator.Conflict:
		return &apiError{status: http.StatusConflict, Code: 1406, Token: "NotAllowed", Message: err.Error()}
	case generator.NotFound:
		return &apiError{status: http.StatusNotFound, Code: 1201, Token: "NotFound", Message: err.Error()}
	case generator.Invalid:
		return validation(err.Error())
	}
	return &apiError{status: http.StatusInternalServerError, Code: 1000, Token: "InternalError", Message: "internal error"}
}

// pathID parses a numeric path parameter as the platform does (a Java Long).
func pathID(r *http.Request, name string) (int64, *apiError) {
	v := varsOf(r)[name]
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("Cannot parse parameter %s as Long: For input string: %q", name, v))
	}
	return id, nil
}

// decode reads a JSON body; the body is size-limited by the middleware.
func decode(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		if e := tooLarge(err); e != nil {
			return e
		}
		return badRequest("Malformed JSON: " + err.Error())
	}
	return nil
}

// readBody reads a body that is not JSON (a scenario), with the same limit
// and the same 413 as decode.
func readBody(r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if e := tooLarge(err); e != nil {
			return nil, e
		}
		return nil, badRequest("read body: " + err.Error())
	}
	return b, nil
}

// tooLarge is the answer to a body over the limit, or nil.
func tooLarge(err error) *apiError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{status: http.StatusRequestEntityTooLarge, Code: 1000, Token: "BadRequest", Message: fmt.Sprintf("Request body is too large (more than %d bytes)", tooBig.Limit)}
	}
	return nil
}
