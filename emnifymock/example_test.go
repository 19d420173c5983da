package emnifymock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/emnifymock"
)

// Example is a test of an app that reads emnify events: the mock runs
// for the test's length, the app logs in with the mock's application
// token, and Events is what the app should have seen.
func Example() {
	t := &exampleT{} // in a test: the *testing.T
	defer t.cleanup()

	m := emnifymock.Start(t, emnifymock.Scenario("factory-test-activation"))
	res, _ := http.Post(m.URL+"/api/v1/authenticate", "application/json",
		strings.NewReader(`{"application_token":"`+m.AppToken+`"}`))
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.NewDecoder(res.Body).Decode(&auth)
	res.Body.Close()

	req, _ := http.NewRequest("GET", m.URL+"/api/v1/event?per_page=1", nil)
	req.Header.Set("Authorization", "Bearer "+auth.Token)
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	fmt.Println("the app sees", res.Header.Get("X-Total-Count"), "events of its workspace")

	made := m.Run(t, "suspend-resume")
	fmt.Println("a scenario run now made", made, "more; the log holds", len(m.Events(t)))
	// Output:
	// the app sees 49 events of its workspace
	// a scenario run now made 12 more; the log holds 82
}

// exampleT stands in for the *testing.T an example does not have.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                        {}
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
