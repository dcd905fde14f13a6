package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adpacer/adpacer/internal/config"
	"github.com/adpacer/adpacer/internal/telemetry"
	"go.uber.org/zap"
)

func TestValidateExampleAndBrokenConfig(t *testing.T) {
	code, out, errOut := runCLI(t, Wiring{}, "validate", "../../deploy/config/example.yaml")
	if code != ExitOK {
		t.Fatalf("validate example.yaml = %d, stderr %s", code, errOut)
	}
	if !strings.Contains(out, "OK (mode dry-run; connectors: 2 yandex_direct, 1 google_ads, 1 vk_ads, 1 trello, 1 everhour; 4 budget lines)") {
		t.Errorf("stdout = %q", out)
	}

	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "mode: yolo\nshutdown_timeout: soon\njobs:\n  pace:\n    schedule: every 15 minutes\nconnectors:\n  trello:\n    - id: t\n      key_file: missing-key\n      token_env: ADPACER_TEST_NOPE\n      boards: [b]\n")
	code, out, errOut = runCLI(t, Wiring{}, "validate", bad)
	if code != ExitConfig {
		t.Fatalf("validate bad.yaml = %d, want %d", code, ExitConfig)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
	for _, want := range []string{
		"5 problems:",
		`line 1: mode: unknown mode "yolo"`,
		`line 2: shutdown_timeout: invalid duration "soon"`,
		`line 5: jobs.pace.schedule: invalid cron spec "every 15 minutes"`,
		`line 9: connectors.trello[0].key_file: file ` + filepath.Join(dir, "missing-key") + ` does not exist`,
		`line 10: connectors.trello[0].token_env: environment variable ADPACER_TEST_NOPE is not set`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// --config and $ADPACER_CONFIG are the other ways to name the file.
	if code, _, _ := runCLI(t, Wiring{}, "validate", "--config", bad); code != ExitConfig {
		t.Errorf("validate --config bad = %d", code)
	}
	t.Setenv("ADPACER_CONFIG", "../../deploy/config/minimal.yaml")
	if code, _, e := runCLI(t, Wiring{}, "validate"); code != ExitOK {
		t.Errorf("validate with $ADPACER_CONFIG = %d %s", code, e)
	}
	if code, _, e := runCLI(t, Wiring{}, "validate", filepath.Join(dir, "nope.yaml")); code != ExitConfig || !strings.Contains(e, "cannot read the file") {
		t.Errorf("validate missing file = %d %s", code, e)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"validate", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{[]string{"validate", "a.yaml", "b.yaml"}, ExitUsage, "accepts at most 1 arg(s)"},
		{[]string{"man"}, ExitUsage, "accepts 1 arg(s)"},
		{[]string{"version", "extra"}, ExitUsage, "unknown command"},
		{[]string{"migrate", "../../deploy/config/example.yaml"}, ExitRuntime, "migrate: cannot open the sqlite store: the store is not wired into this build yet"},
		{[]string{"--help"}, ExitOK, "Exit codes: 0 ok"},
	} {
		code, out, errOut := runCLI(t, Wiring{}, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("adpacer %v = %d\nstdout %s\nstderr %s\nwant %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	if got := exitCode(dataError(errors.New("bad snapshot"))); got != ExitDataErr {
		t.Errorf("dataError exit code = %d, want 65", got)
	}
	if got := exitCode(&ranError{err: usageError(errors.New("x"))}); got != ExitUsage {
		t.Errorf("usageError inside RunE = %d, want 2", got)
	}
	if got := exitCode(&ranError{err: fmt.Errorf("wrapped: %w", &config.Error{})}); got != ExitConfig {
		t.Errorf("wrapped config error = %d, want 78", got)
	}
}

type fakeStore struct{ migrated, closed atomic.Int32 }

func (f *fakeStore) Migrate(context.Context) error { f.migrated.Add(1); return nil }
func (f *fakeStore) Close() error                  { f.closed.Add(1); return nil }

func TestMigrateUsesWiredStore(t *testing.T) {
	st := &fakeStore{}
	w := Wiring{OpenStore: func(_ context.Context, cfg *config.Config, _ *zap.Logger) (Store, error) {
		if cfg.Store.Driver != "sqlite" {
			t.Errorf("driver = %s", cfg.Store.Driver)
		}
		return st, nil
	}}
	code, out, errOut := runCLI(t, w, "migrate", "../../deploy/config/minimal.yaml")
	if code != ExitOK || !strings.Contains(out, "sqlite store migrated") {
		t.Fatalf("migrate = %d %s %s", code, out, errOut)
	}
	if st.migrated.Load() != 1 || st.closed.Load() != 1 {
		t.Errorf("migrated %d closed %d, want 1 and 1", st.migrated.Load(), st.closed.Load())
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, Wiring{}, "version", "--json")
	if code != 0 {
		t.Fatal(code)
	}
	var bi telemetry.BuildInfo
	if err := json.Unmarshal([]byte(out), &bi); err != nil {
		t.Fatalf("version --json = %q: %v", out, err)
	}
	if bi != telemetry.ReadBuildInfo(version) || bi.GoVersion == "" {
		t.Errorf("version --json = %+v, want %+v", bi, telemetry.ReadBuildInfo(version))
	}
	_, text, _ := runCLI(t, Wiring{}, "version")
	if !strings.HasPrefix(text, "adpacer "+bi.Version+" (revision "+bi.Revision) {
		t.Errorf("version = %q", text)
	}
}

func TestManAndCompletion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	if code, _, e := runCLI(t, Wiring{}, "man", dir); code != 0 {
		t.Fatalf("man = %d %s", code, e)
	}
	for _, page := range []string{"adpacer.1", "adpacer-run.1", "adpacer-validate.1", "adpacer-print-config.1", "adpacer-migrate.1", "adpacer-version.1", "adpacer-completion.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("man page %s: %v", page, err)
			continue
		}
		if !strings.Contains(string(b), ".TH \"ADPACER\" \"1\"") {
			t.Errorf("%s has no man header", page)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, _ := runCLI(t, Wiring{}, "completion", shell)
		if code != 0 || !strings.Contains(out, "adpacer") || len(out) < 500 {
			t.Errorf("completion %s = %d, %d bytes", shell, code, len(out))
		}
	}
}

// TestCanarySecretNeverLeaks puts a canary in every secret file and checks
// the validation errors, print-config, the daemon's logs (debug level, which
// dumps the effective config) and /metrics.
func TestCanarySecretNeverLeaks(t *testing.T) {
	const canary = "tok-CANARY-5b1e2d"
	dir := t.TempDir()
	for _, f := range []string{"trello-key", "trello-token", "status-token", "client-secret", "refresh-token"} {
		writeFile(t, dir, f, canary+"-"+f+"\n")
	}
	good := fmt.Sprintf(`mode: observe
store: {sqlite: {path: %s}}
http:
  listen: 127.0.0.1:0
  status_token_file: status-token
log: {level: debug, format: json}
connectors:
  trello:
    - id: trello-a
      key_file: trello-key
      token_file: trello-token
      boards: [b1]
  google_ads:
    - id: g
      customer_id: 123-456-7890
      oauth: {client_id: cid, client_secret_file: client-secret, refresh_token_file: refresh-token}
`, filepath.Join(dir, "db"))
	goodPath := writeFile(t, dir, "good.yaml", good)
	badPath := writeFile(t, dir, "bad.yaml", good+"      access_level: root\n      timeout: forever\n")

	var outputs []string
	code, out, errOut := runCLI(t, Wiring{}, "validate", badPath)
	if code != ExitConfig {
		t.Fatalf("validate bad = %d", code)
	}
	outputs = append(outputs, out, errOut)

	code, out, errOut = runCLI(t, Wiring{}, "print-config", goodPath)
	if code != ExitOK {
		t.Fatalf("print-config = %d %s", code, errOut)
	}
	if !strings.Contains(out, "key: '[REDACTED]'") || !strings.Contains(out, "client_secret: '[REDACTED]'") {
		t.Errorf("print-config does not show masked secrets:\n%s", out)
	}
	outputs = append(outputs, out, errOut)

	// The daemon in-process: wait for the server, scrape, then stop it.
	var stdout, stderr syncBuffer
	a := newApp(strings.NewReader(""), &stdout, &stderr, Wiring{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.execute(ctx, []string{"run", "-c", goodPath}) }()
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		for _, l := range strings.Split(stderr.String(), "\n") {
			if a, ok := serverAddr(l); ok {
				addr = a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		cancel()
		<-done
		t.Fatalf("daemon did not start; logs:\n%s", stderr.String())
	}
	_, metrics := httpGet(t, "http://"+addr+"/metrics")
	outputs = append(outputs, metrics)
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("run stopped by context = %d, want 0; logs:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"effective configuration"`) || !strings.Contains(logs, config.Redacted) {
		t.Errorf("debug logs lack the redacted effective config:\n%s", logs)
	}
	if !strings.Contains(metrics, "adpacer_build_info") {
		t.Errorf("/metrics lacks adpacer_build_info")
	}
	outputs = append(outputs, logs, stdout.String())

	for i, o := range outputs {
		if strings.Contains(o, "CANARY") {
			t.Errorf("output %d leaks the canary:\n%s", i, o)
		}
	}
}
