//go:build !unix

package datadir

import "os"

// flock does nothing where flock(2) does not exist: two serves on one
// directory are not refused there.
func flock(*os.File) error { return nil }
