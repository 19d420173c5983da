//go:build unix

package datadir

import (
	"os"
	"syscall"
)

// flock takes the directory's lock without waiting; the kernel lets it go
// when the process dies, however it dies.
func flock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
