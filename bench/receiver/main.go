// Command receiver is a webhook receiver for benchmarks: it reads every
// request body, throws it away and answers 200. Optionally it holds each
// request a while, to stand in for a receiver with work to do, or serves
// with fasthttp, the cheaper server, so that a load generator's own cost
// shows. With --static it is instead the baseline for the API's pages: it
// answers every request with a file's bytes as JSON, as a static Go
// handler would.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9099", "where to listen")
	hold := flag.Duration("hold", 0, "how long to hold each request")
	fast := flag.Bool("fasthttp", false, "serve with fasthttp instead of net/http")
	static := flag.String("static", "", "answer every request with this file's bytes (net/http)")
	flag.Parse()
	if *static != "" {
		page, err := os.ReadFile(*static)
		if err != nil {
			log.Fatal(err)
		}
		log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(page)
		})))
	}
	fmt.Fprintf(os.Stderr, "receiver on http://%s (hold %s, fasthttp %v)\n", *addr, *hold, *fast)
	if *fast {
		log.Fatal(fasthttp.ListenAndServe(*addr, func(ctx *fasthttp.RequestCtx) {
			if *hold > 0 {
				time.Sleep(*hold)
			}
		}))
	}
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if *hold > 0 {
			time.Sleep(*hold)
		}
	})))
}
