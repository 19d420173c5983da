//go:build !linux

package load

import "context"

// closedLoop is Linux only (loop_linux.go); elsewhere the fasthttp workers
// serve every run.
func closedLoop(context.Context, Options, *Recorder, int) (bool, error) { return false, nil }
