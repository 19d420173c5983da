package load

import (
	"net"
	"testing"
	"time"
)

// TestReachable: the address taken is one that accepts; with none that
// does, the first, so that the run reports the refusals.
func TestReachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := reachable(ln.Addr().String(), time.Second)
	if err != nil || a.String() != ln.Addr().String() {
		t.Errorf("listening: %v, %v; want %s", a, err, ln.Addr())
	}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln2.Addr().String()
	ln2.Close()
	if a, err := reachable(gone, time.Second); err != nil || a.String() != gone {
		t.Errorf("nobody listening: %v, %v; want %s", a, err, gone)
	}
	if _, err := reachable("no-port", time.Second); err == nil {
		t.Error("no error for an address without a port")
	}
}
