package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
	"github.com/emnify-mock/emnify-mock/scenarios"
	"github.com/emnify-mock/emnify-mock/server"
)

// A test starts the mock API over a world made by a scenario, logs in with
// an application token and reads the events, as an emnify client would.
func ExampleNew() {
	sc, _ := scenarios.Load("onboarding")
	world := plan.NewWorld(generator.DefaultStart, 1)
	var history []generator.Event
	world.Run(sc.Plan, func(e generator.Event) error { history = append(history, e); return nil })
	srv, _ := server.New(server.Options{World: world, History: history, AppTokens: []string{"my-token"}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	res, err := http.Post(ts.URL+"/api/v1/authenticate", "application/json", strings.NewReader(`{"application_token":"my-token"}`))
	if err != nil {
		panic(err)
	}
	var auth struct {
		Token string `json:"auth_token"`
	}
	json.NewDecoder(res.Body).Decode(&auth)
	res.Body.Close()

	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/event?q=type:48&sort=-id", nil)
	req.Header.Set("Authorization", "Bearer "+auth.Token)
	if res, err = http.DefaultClient.Do(req); err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var events []struct {
		Description string `json:"description"`
	}
	json.NewDecoder(res.Body).Decode(&events)
	fmt.Println(res.Header.Get("X-Total-Count"), events[0].Description)
	// Output: 1 Batch of 5 SIM(s) registered.
}
