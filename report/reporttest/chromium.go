// Package reporttest drives Debian's headless Chromium for tests of
// promoflow's HTML pages: it loads a page, collects its console messages
// and rendered DOM, and saves a screenshot as a test artefact.
package reporttest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Page is what Chromium saw of one URL.
type Page struct {
	// DOM is the document after loading (--dump-dom).
	DOM string
	// Console holds the page's console messages; a page without script
	// and with every resource found has none.
	Console []string
	// Screenshot is the PNG's path under the artefacts folder, and Image
	// the decoded picture.
	Screenshot string
	Image      image.Image
}

var (
	findOnce sync.Once
	found    string
	findErr  string
)

// Chromium returns the path of the chromium binary. When it is missing
// and the test runs as root, it installs Debian's chromium package once.
// Without it the test is skipped, or fails when PROMOFLOW_REQUIRE_STACK=1.
func Chromium(t testing.TB) string {
	t.Helper()
	findOnce.Do(func() {
		if p, err := exec.LookPath("chromium"); err == nil {
			found = p
			return
		}
		if os.Geteuid() != 0 {
			findErr = "chromium is not installed and the test is not root to install it (apt-get install chromium)"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		install := func() ([]byte, error) {
			cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "chromium")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return cmd.CombinedOutput()
		}
		out, err := install()
		if err != nil {
			// The package lists may be missing or stale.
			if upd, uerr := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); uerr != nil {
				findErr = "apt-get update: " + uerr.Error() + ": " + tail(upd)
				return
			}
			if out, err = install(); err != nil {
				findErr = "apt-get install chromium: " + err.Error() + ": " + tail(out)
				return
			}
		}
		p, err := exec.LookPath("chromium")
		if err != nil {
			findErr = "chromium installed but not on PATH: " + err.Error()
			return
		}
		found = p
	})
	if found == "" {
		if os.Getenv("PROMOFLOW_REQUIRE_STACK") == "1" {
			t.Fatalf("headless chromium needed: %s", findErr)
		}
		t.Skipf("no headless chromium: %s", findErr)
	}
	return found
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = "…" + s[len(s)-400:]
	}
	return s
}

// ArtifactsDir is the folder screenshots go to: $PROMOFLOW_ARTIFACTS when
// set (created if needed), else a temporary folder of the test.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PROMOFLOW_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artefacts folder: %v", err)
	}
	return dir
}

// consoleLine matches Chromium's log line of a console message, e.g.
// `[1:1:1123/152605.887042:INFO:CONSOLE:1] "boom", source: file:///t.html (1)`.
var consoleLine = regexp.MustCompile(`:CONSOLE[:(]`)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Visit loads url in headless Chromium twice: once for the DOM and console
// messages, once for a 1280×2000 screenshot saved as <test>-<name>.png in
// ArtifactsDir.
func Visit(t testing.TB, url, name string) Page {
	t.Helper()
	bin := Chromium(t)
	var p Page
	stdout, stderr := run(t, bin, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
	p.DOM = stdout
	for _, l := range strings.Split(stderr, "\n") {
		if consoleLine.MatchString(l) {
			p.Console = append(p.Console, l)
		}
	}
	dir := ArtifactsDir(t)
	p.Screenshot = filepath.Join(dir, unsafeName.ReplaceAllString(t.Name()+"-"+name, "_")+".png")
	run(t, bin, "--screenshot="+p.Screenshot, "--window-size=1280,2000", url)
	data, err := os.ReadFile(p.Screenshot)
	if err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	if p.Image, err = png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	t.Logf("screenshot of %s: %s", url, p.Screenshot)
	return p
}

// run starts one headless Chromium with a fresh profile and returns what
// it printed.
func run(t testing.TB, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "promoflow-chromium-")
	if err != nil {
		t.Fatalf("chromium profile: %v", err)
	}
	defer os.RemoveAll(profile)
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(errb.Bytes()))
	}
	return out.String(), errb.String()
}

// Inked counts the pixels of img within tolerance of the colour (r, g, b):
// a chart drawn in that colour leaves many.
func Inked(img image.Image, r, g, b uint8, tolerance int) int {
	n := 0
	bounds := img.Bounds()
	near := func(a uint32, c uint8) bool {
		d := int(a>>8) - int(c)
		return d >= -tolerance && d <= tolerance
	}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, r) && near(pg, g) && near(pb, b) {
				n++
			}
		}
	}
	return n
}
