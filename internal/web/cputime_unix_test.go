//go:build unix

package web_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU this process has used (user and system, every thread, the garbage collector included): on a
// shared machine it measures a page's cost where wall time also measures the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
