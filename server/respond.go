package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// refusal maps the state machine's refusal to emnify's status and body.
// The exact codes emnify uses for state conflicts are not recorded; 409
// with 1406 NotAllowed follows its error docs (design.md).
func refusal(err error) *wire.Error {
	switch generator.ErrorCode(err) {
	case generator.Conflict:
		return &wire.Error{Status: http.StatusConflict, Code: 1406, Token: "NotAllowed", Message: err.Error()}
	case generator.NotFound:
		return &wire.Error{Status: http.StatusNotFound, Code: 1201, Token: "NotFound", Message: err.Error()}
	case generator.Invalid:
		return wire.Validation(err.Error())
	case generator.Forbidden:
		return &wire.Error{Status: http.StatusForbidden, Code: 1104, Token: "Forbidden", Message: err.Error()}
	case generator.Duplicated:
		return &wire.Error{Status: http.StatusConflict, Code: 1405, Token: "Duplicated", Message: err.Error()}
	}
	return wire.Internal("internal error")
}

// pathID parses a numeric path parameter as the platform does (a Java Long).
func pathID(r *http.Request, name string) (int64, *wire.Error) {
	v := varsOf(r)[name]
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, wire.BadRequest(fmt.Sprintf("Cannot parse parameter %s as Long: For input string: %q", name, v))
	}
	return id, nil
}

// decode reads a JSON body into v strictly: exactly one JSON object, no
// data after it, no field v does not have, every field of its type. A
// field the mock cannot set is refused, never dropped; so is a null body,
// which would otherwise act as an empty one. The body is size-limited by
// the guard. What emnify answers to each of these is not recorded: a
// malformed body is its 400 "Malformed JSON", the rest its 422 validation
// body (inferred).
func decode(r *http.Request, v any) *wire.Error {
	b, apiErr := wire.ReadBody(r)
	if apiErr != nil {
		return apiErr
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&json.RawMessage{}) != io.EOF {
		return wire.BadRequest("Malformed JSON: data after the JSON value")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil && bytes.Equal(bytes.TrimSpace(b), []byte("null")):
		return wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: "the body must be a JSON object, not null"})
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: fmt.Sprintf("%s must be %s, got %s", typeErr.Field, jsonKind(typeErr.Type.Kind()), typeErr.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: fmt.Sprintf("%s is not a field this request can set", field)})
	case errors.Is(err, errBadID), errors.Is(err, errBadValue):
		return wire.Validation("Request validation error", wire.Error{Code: 1403, Token: "InvalidFormat", Message: err.Error()})
	}
	return wire.BadRequest("Malformed JSON: " + err.Error())
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a number"
}

// refID is an id in a body. Clients send 1 or 1.0 (recorded); 1.5, a
// string or an id beyond 2^53 is refused, not rounded.
type refID int64

var (
	errBadID    = errors.New("an id must be a whole number")
	errBadValue = errors.New("a value of the wrong type")
)

func (id *refID) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("%w, got %s", errBadID, b)
	}
	*id = refID(f)
	return nil
}
