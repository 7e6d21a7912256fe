package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// The release's version and commit, stamped in at link time by make
// release and the Dockerfile (-ldflags "-X main.version=... -X
// main.commit=..."): link-time constants, never written at run time.
var (
	version = ""
	commit  = ""
)

// versionLine is what maniwani -version prints: the stamped version and
// commit, or for an unstamped build what Go recorded of it.
func versionLine() string {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("maniwani %s (commit %s, %s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
