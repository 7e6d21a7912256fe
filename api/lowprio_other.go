//go:build !linux

package api

// runLow runs fn; only Linux lowers one thread's priority.
func runLow(fn func()) { fn() }
