package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register(&command{
		name:    "version",
		summary: "print the promoflow version",
		run: func(ctx context.Context, args []string, stdout io.Writer) error {
			fs := newFlagSet("version", "")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			_, err := fmt.Fprintf(stdout, "promoflow %s (%s, %s)\n", codeVersion(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
			return err
		},
	})
}

// codeVersion names the code that is running: the build-time version and,
// when the binary was built from a git checkout, its revision.
func codeVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
