package demo

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium runs Debian's headless Chromium with the flags this machine's
// closed network needs (no background networking, no component updates).
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium); the status page browser test needs it")
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

// TestStatusPageInChromium renders the status page of a short demo run in
// a real browser: the DOM must show every budget line with its chart, the
// actions taken, and the link to the Trello board; a screenshot is written
// where ADPACER_SCREENSHOT says (for people to look at).
func TestStatusPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated day and a browser")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium not installed (Debian package chromium)")
	}
	var dom []byte
	var boardDOM []byte
	_, err := Run(context.Background(), Options{Days: 2, Fast: true, Out: io.Discard, Done: func(ep Endpoints) {
		dom = chromium(t, "--virtual-time-budget=2000", "--dump-dom", ep.Status)
		boardDOM = chromium(t, "--dump-dom", ep.TrelloBoard)
		if shot := os.Getenv("ADPACER_SCREENSHOT"); shot != "" {
			abs, _ := filepath.Abs(shot)
			chromium(t, "--window-size=1400,2200", "--hide-scrollbars", "--screenshot="+abs, ep.Status)
			chromium(t, "--window-size=1400,1400", "--hide-scrollbars", "--screenshot="+strings.TrimSuffix(abs, ".png")+"-trello.png", ep.TrelloBoard)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	page := string(dom)
	for _, want := range []string{"budget pacing", "retail-moscow-01", "mortgage-kazan-06", "<svg", "<polyline", "Recent actions", "set_daily_budget", "Open alerts", "/board/"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page in Chromium lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="line"`); n != 6 {
		t.Errorf("status page shows %d budget lines, want 6", n)
	}
	if !bytes.Contains(boardDOM, []byte("Alerts")) {
		t.Errorf("fake Trello board view lacks the Alerts list")
	}
}
