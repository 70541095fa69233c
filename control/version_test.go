package control

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestIdentify(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	const sum = "9adcee883bc4dc78e2b1eda70493fec0f2fee5b26ec2726d114b761a1e11baa9"
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	hashOK := func() (string, error) { return sum, nil }
	hashFails := func() (string, error) { return "", errors.New("no executable") }
	tests := []struct {
		name     string
		settings []debug.BuildSetting
		hash     func() (string, error)
		wantID   string
		wantOK   bool
		wantHash bool // whether the executable is hashed
	}{
		{"clean checkout", vcs("vcs", "git", "vcs.revision", rev, "vcs.modified", "false"), hashOK, "git:" + rev, true, false},
		{"clean checkout, no executable", vcs("vcs.revision", rev, "vcs.modified", "false"), hashFails, "git:" + rev, true, false},
		{"dirty tree", vcs("vcs.revision", rev, "vcs.modified", "true"), hashOK, "sha256:" + sum, true, true},
		{"revision without vcs.modified", vcs("vcs.revision", rev), hashOK, "sha256:" + sum, true, true},
		{"unmodified without revision", vcs("vcs.modified", "false"), hashOK, "sha256:" + sum, true, true},
		{"-buildvcs=false", vcs("-buildmode", "exe", "GOOS", "linux"), hashOK, "sha256:" + sum, true, true},
		{"no build info", nil, hashOK, "sha256:" + sum, true, true},
		{"dirty tree, no executable", vcs("vcs.revision", rev, "vcs.modified", "true"), hashFails, "", false, true},
		{"no build info, no executable", nil, hashFails, "", false, true},
		{"empty hash", nil, func() (string, error) { return "", nil }, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hashed := false
			hash := func() (string, error) { hashed = true; return tt.hash() }
			gotID, gotOK := identify(tt.settings, hash)
			if gotID != tt.wantID || gotOK != tt.wantOK {
				t.Errorf("identify = (%q, %v), want (%q, %v)", gotID, gotOK, tt.wantID, tt.wantOK)
			}
			if hashed != tt.wantHash {
				t.Errorf("executable hashed = %v, want %v", hashed, tt.wantHash)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		version, id string
		ok          bool
		want        string
	}{
		{"v1.2.3", "git:0123456789abcdef0123456789abcdef01234567", true, "v1.2.3 (git:0123456789ab)"},
		{"dev", "sha256:9adcee883bc4dc78e2b1eda70493fec0f2fee5b26ec2726d114b761a1e11baa9", true, "dev (sha256:9adcee883bc4)"},
		{"dev", "git:abc", true, "dev (git:abc)"},
		{"dev", "", false, "dev (unidentified)"},
	}
	for _, tt := range tests {
		if got := describe(tt.version, tt.id, tt.ok); got != tt.want {
			t.Errorf("describe(%q, %q, %v) = %q, want %q", tt.version, tt.id, tt.ok, got, tt.want)
		}
	}
}

// A test binary is not VCS-stamped: its identity is its own file's hash.
func TestCodeIdentityOfTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("no executable path: %v", err)
	}
	got, ok := CodeIdentity()
	if !ok {
		t.Fatal("CodeIdentity of the test binary: none")
	}
	if want := "sha256:" + fileSHA256(t, exe); got != want {
		t.Errorf("CodeIdentity = %q, want %q", got, want)
	}
	if again, _ := CodeIdentity(); again != got {
		t.Errorf("second CodeIdentity = %q, want %q", again, got)
	}
}

// TestCodeIdentityFollowsBuild builds promoflow without VCS stamping, as
// GOFLAGS=-buildvcs=false does, and checks that a rebuild of the same
// source keeps its identity and a one-line change gives a new one.
func TestCodeIdentityFollowsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds promoflow three times (about 7 s each)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	src, err := os.ReadFile("version.go")
	if err != nil {
		t.Fatal(err)
	}
	changedString := strings.Replace(string(src), `" (unidentified)"`, `" (not identified)"`, 1)
	if changedString == string(src) {
		t.Fatal("version.go has no \" (unidentified)\" string to change")
	}
	dir := t.TempDir()
	base := identityOfBuild(t, gobin, dir, "base", "")
	tests := []struct {
		name     string
		source   string // control/version.go as built; "" builds the source as it is
		wantSame bool
	}{
		{"same source rebuilt", "", true},
		{"changed string", changedString, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := identityOfBuild(t, gobin, dir, strings.ReplaceAll(tt.name, " ", "-"), tt.source)
			if same := got == base; same != tt.wantSame {
				t.Errorf("identity %s, base build %s: same = %v, want %v", got, base, same, tt.wantSame)
			}
		})
	}
}

// identityOfBuild builds ./cmd/promoflow with -buildvcs=false into dir,
// with control/version.go replaced by source unless it is empty, and returns
// the code identity `promoflow version` prints, checked against the
// binary's own hash.
func identityOfBuild(t *testing.T, gobin, dir, name, source string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	args := []string{"build", "-buildvcs=false", "-o", bin}
	if source != "" {
		args = append(args, "-overlay", writeOverlay(t, dir, name, source))
	}
	build := exec.Command(gobin, append(args, "./cmd/promoflow")...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", build.Args, err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	_, id, found := strings.Cut(string(out), "code identity: ")
	if !found {
		t.Fatalf("%s version printed no code identity: %q", bin, out)
	}
	id = strings.TrimSpace(id)
	if want := "sha256:" + fileSHA256(t, bin); id != want {
		t.Fatalf("%s prints identity %q, want its hash %q", bin, id, want)
	}
	return id
}

// writeOverlay writes source and an overlay file replacing control/version.go
// with it, and returns the overlay file's path.
func writeOverlay(t *testing.T, dir, name, source string) string {
	t.Helper()
	target, err := filepath.Abs("version.go")
	if err != nil {
		t.Fatal(err)
	}
	replacement := filepath.Join(dir, name+".go")
	if err := os.WriteFile(replacement, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {target: replacement}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileSHA256 returns the hex sha256 of a file's contents.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
