// Command consumer runs the reference consumer of emnify events (or its
// naive variant) as a webhook receiver:
//
//	go run ./examples/consumer/cmd/consumer --addr 127.0.0.1:9000
//	emnify-mock verify --consumer http://127.0.0.1:9000
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/emnify-mock/emnify-mock/examples/consumer"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "where to listen")
	naive := flag.Bool("naive", false, "run the naive variant: no dedupe, trusts arrival order")
	flag.Parse()
	fmt.Fprintf(os.Stderr, "consumer (naive: %v) listening on http://%s: POST /webhook, GET /sims/{iccid}, GET /stats, POST /admin/poll\n", *naive, *addr)
	log.Fatal(http.ListenAndServe(*addr, consumer.New(*naive)))
}
