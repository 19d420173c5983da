// Command consumer runs the reference consumer of emnify events (or its
// naive variant) as a webhook receiver:
//
//	go run ./examples/consumer/cmd/consumer --addr 127.0.0.1:9000
//	emnify-mock verify --consumer http://127.0.0.1:9000
//
// With --subscribe it also registers a data stream to itself on start, as
// in examples/compose.yaml.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/emnify-mock/emnify-mock/examples/consumer"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "where to listen")
	naive := flag.Bool("naive", false, "run the naive variant: no dedupe, trusts arrival order")
	byID := flag.Bool("keyed-by-id", false, "run the variant that dedupes by event id alone (drops a migration's second half)")
	api := flag.String("subscribe", "", "emnify API URL (e.g. http://mock:8080) to register a data stream on at start, to --webhook-url")
	token := flag.String("app-token", "", "application token for --subscribe")
	webhook := flag.String("webhook-url", "", "this consumer's webhook as the API reaches it, for --subscribe (e.g. http://consumer:9000/webhook)")
	flag.Parse()
	if *api != "" && (*token == "" || *webhook == "") {
		log.Fatal("--subscribe needs --app-token and --webhook-url")
	}
	fmt.Fprintf(os.Stderr, "consumer (naive: %v) listening on http://%s: POST /webhook, GET /sims/{iccid}, GET /stats, POST /admin/poll\n", *naive, *addr)
	if *api != "" {
		go subscribe(*api, *token, *webhook)
	}
	c := consumer.New(*naive)
	if *byID {
		c = consumer.NewKeyedByID()
	}
	log.Fatal(http.ListenAndServe(*addr, c))
}

// subscribe registers the data stream once the API answers (a container
// next to it may start later), trying for a minute.
func subscribe(api, token, webhook string) {
	var err error
	for try := 0; try < 60; try++ {
		if err = consumer.Subscribe(api, token, webhook); err == nil {
			log.Printf("subscribed: %s streams to %s", api, webhook)
			return
		}
		time.Sleep(time.Second)
	}
	log.Fatalf("subscribe to %s: %v", api, err)
}
