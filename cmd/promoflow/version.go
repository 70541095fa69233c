package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/promoflow/promoflow/control"
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
			if _, err := fmt.Fprintf(stdout, "promoflow %s (%s, %s)\n", codeVersion(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH); err != nil {
				return err
			}
			_, err := fmt.Fprintf(stdout, "code identity: %s\n", codeIdentity())
			return err
		},
	})
}

// codeVersion names the running code (see control.CodeVersion).
func codeVersion() string { return control.CodeVersion(version) }

// codeIdentity is control.CodeIdentity in full, or "none" when the code
// cannot be identified (the training cache is then bypassed).
func codeIdentity() string {
	if id, ok := control.CodeIdentity(); ok {
		return id
	}
	return "none"
}
