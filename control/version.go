package control

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// CodeIdentity names the running code so that a result cached by other
// code is never taken for its own. The rule, in order:
//
//  1. "git:<revision>" when the build info is VCS-stamped with a revision
//     and vcs.modified=false: a clean checkout names the code;
//  2. otherwise "sha256:<hex>" of the running executable, which changes
//     with any change to the compiled code; this covers -buildvcs=false,
//     builds outside a checkout, a dirty tree and test binaries;
//  3. otherwise ("", false): the code cannot be named, and callers must
//     bypass any cache keyed on it.
//
// The executable is hashed at most once per process.
func CodeIdentity() (id string, ok bool) {
	var settings []debug.BuildSetting
	if info, found := debug.ReadBuildInfo(); found {
		settings = info.Settings
	}
	return identify(settings, executableHash)
}

// CodeVersion names the running code for people and manifests: the
// build-time version (set with -ldflags "-X main.version=...") and the
// first 12 digits of CodeIdentity, e.g. "v1.2.3 (git:0123456789ab)" or
// "dev (sha256:0123456789ab)"; "dev (unidentified)" when CodeIdentity has
// none.
func CodeVersion(version string) string {
	id, ok := CodeIdentity()
	return describe(version, id, ok)
}

// identify applies CodeIdentity's rule to a binary's build settings and a
// function hashing its executable (called only when the settings do not
// name a clean revision).
func identify(settings []debug.BuildSetting, hashExe func() (string, error)) (string, bool) {
	if rev, ok := cleanRevision(settings); ok {
		return "git:" + rev, true
	}
	sum, err := hashExe()
	if err != nil || sum == "" {
		return "", false
	}
	return "sha256:" + sum, true
}

// cleanRevision returns the VCS revision the build was stamped with when
// the build says the tree was not modified; a missing vcs.modified counts
// as modified.
func cleanRevision(settings []debug.BuildSetting) (string, bool) {
	rev, modified := "", true
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value != "false"
		}
	}
	return rev, rev != "" && !modified
}

// describe formats CodeVersion from a version and an identity.
func describe(version, id string, ok bool) string {
	if !ok {
		return version + " (unidentified)"
	}
	kind, digits, _ := strings.Cut(id, ":")
	return fmt.Sprintf("%s (%s:%.12s)", version, kind, digits)
}

// executableHash is hashExecutable computed once per process.
var executableHash = sync.OnceValues(hashExecutable)

// hashExecutable returns the hex sha256 of the running executable. On
// Linux it reads /proc/self/exe, the file the process actually runs even
// when its path has since been replaced by a new build; elsewhere the file
// at os.Executable.
func hashExecutable() (string, error) {
	path := "/proc/self/exe"
	if runtime.GOOS != "linux" {
		p, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("locate executable: %w", err)
		}
		path = p
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
