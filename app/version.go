package app

import "runtime/debug"

// CodeVersion names the code that is running: the build-time version (set
// with -ldflags "-X main.version=...") and, when the binary was built from
// a git checkout, its revision. It is part of every training key, so code
// changes retrain.
func CodeVersion(version string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				version += "+" + s.Value[:12]
			}
		}
	}
	return version
}
