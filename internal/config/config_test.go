package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/pacing"
	"github.com/google/go-cmp/cmp"
)

// writeConfig writes body as config.yaml into a temp dir beside the secret
// files the cases refer to, and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for name, val := range map[string]string{
		"trello-key": "k1", "trello-token": "t1", "everhour-key": "e1",
		"client-secret": "cs", "refresh-token": "rt", "empty": "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(val), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// problems loads and validates, returning every problem as its string.
func problems(t *testing.T, path string) []string {
	t.Helper()
	cfg, err := Load(path)
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		return nil
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is %T, want *config.Error", err, err)
	}
	out := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		out[i] = p.String()
	}
	return out
}

const trelloOK = `
connectors:
  trello:
    - id: trello-a
      key_file: trello-key
      token_file: trello-token
      boards: [b1]
`

func TestBrokenConfigs(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	cases := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "unknown top-level key",
			body: "mode: dry-run\nmdoe: apply\n",
			want: []string{`line 2: mdoe: unknown key "mdoe": remove it or use one of: connectors, http, instance_name, jobs, log, mode, pacing, shutdown_timeout, store`},
		},
		{
			name: "unknown nested key",
			body: "http:\n  listn: 127.0.0.1:1\n",
			want: []string{`line 2: http.listn: unknown key "listn": remove it or use one of: listen, status_token_env, status_token_file`},
		},
		{
			name: "wrong type",
			body: "connectors:\n  yandex_direct:\n    - id: y\n      max_in_flight: many\n",
			want: []string{`line 4: connectors.yandex_direct[0].max_in_flight: want a whole number, got "many"`},
		},
		{
			name: "mapping where a list is wanted",
			body: "connectors:\n  trello:\n    - id: t\n      key_file: trello-key\n      token_file: trello-token\n      boards: {a: b}\n",
			want: []string{
				`line 6: connectors.trello[0].boards: want a list, got a mapping`,
			},
		},
		{
			name: "bad duration",
			body: "shutdown_timeout: 25 seconds\n",
			want: []string{`line 1: shutdown_timeout: invalid duration "25 seconds": write Go duration text such as 90s, 15m or 2h`},
		},
		{
			name: "all decode problems at once",
			body: "shutdown_timeout: soon\njobs:\n  pace:\n    timeout: later\n  nope: 1\n",
			want: []string{
				`line 1: shutdown_timeout: invalid duration "soon": write Go duration text such as 90s, 15m or 2h`,
				`line 4: jobs.pace.timeout: invalid duration "later": write Go duration text such as 90s, 15m or 2h`,
				`line 5: jobs.nope: unknown key "nope": remove it or use one of: alerts, apply, pace`,
			},
		},
		{
			name: "inline secret",
			body: "connectors:\n  trello:\n    - id: t\n      token: abc123\n",
			want: []string{`line 4: connectors.trello[0].token: inline secret values are not allowed: put the value in a file and set the matching *_file key (or name an environment variable in *_env)`},
		},
		{
			name: "bad time zone",
			body: trelloOK + "      alerts: {board: b2}\n" + `
pacing:
  budget_lines:
    - id: l1
      timezone: Europe/Moskva
      budget: 100
      currency: RUB
      campaigns: []
`,
			want: []string{
				`line 13: pacing.budget_lines[0].timezone: unknown time zone "Europe/Moskva": use an IANA zone such as Europe/Moscow or Asia/Vladivostok`,
				`line 16: pacing.budget_lines[0].campaigns: is empty: list the campaigns whose spend counts against this budget, e.g. yandex_direct:123`,
			},
		},
		{
			name: "missing secret file",
			body: strings.Replace(trelloOK, "token_file: trello-token", "token_file: no-such-token", 1),
			want: []string{`line 6: connectors.trello[0].token_file: file @DIR@/no-such-token does not exist: create it or fix the path (relative paths are resolved against $CREDENTIALS_DIRECTORY when set, else against the config file's directory)`},
		},
		{
			name: "empty secret file and unset env",
			body: "connectors:\n  everhour:\n    - id: e1\n      api_key_file: empty\n    - id: e2\n      api_key_env: ADPACER_TEST_UNSET_VAR\n      timezone: Europe/Atlantis\n",
			want: []string{
				`line 4: connectors.everhour[0].api_key_file: file @DIR@/empty is empty: write the credential into it`,
				`line 6: connectors.everhour[1].api_key_env: environment variable ADPACER_TEST_UNSET_VAR is not set: export it or use the *_file key`,
				`line 7: connectors.everhour[1].timezone: unknown time zone "Europe/Atlantis": use the agency's IANA zone, e.g. Europe/Moscow`,
			},
		},
		{
			name: "bad cron spec",
			body: "jobs:\n  pace:\n    schedule: \"*/15 * * *\"\n",
			want: []string{`line 3: jobs.pace.schedule: invalid cron spec "*/15 * * *" (expected exactly 5 fields, found 4: [*/15 * * *]): use five fields (minute hour day month weekday) such as "*/15 * * * *", or a descriptor such as "@every 15m" or "@hourly"`},
		},
		{
			name: "duplicate connector ids across kinds",
			body: trelloOK + "  everhour:\n    - id: trello-a\n      api_key_file: everhour-key\n",
			want: []string{`line 9: connectors.everhour[0].id: duplicate id "trello-a" (also used by connectors.trello[0]): ids must be unique across all connectors`},
		},
		{
			name: "unknown enums",
			body: "mode: yolo\nlog:\n  level: loud\n  format: xml\nstore:\n  driver: mysql\n",
			want: []string{
				`line 1: mode: unknown mode "yolo": use observe, dry-run, approve or apply`,
				`line 3: log.level: unknown level "loud": use debug, info, warn or error`,
				`line 4: log.format: unknown format "xml": use auto, json or console`,
				`line 6: store.driver: unknown driver "mysql": use sqlite (one machine) or postgres (several replicas)`,
			},
		},
		{
			name: "public listen without token",
			body: "http:\n  listen: 0.0.0.0:9464\n",
			want: []string{`line 1: http.status_token_file: is required: point it at a file holding the secret (or set status_token_env to an environment variable name)`},
		},
		{
			name: "postgres without dsn",
			body: "store:\n  driver: postgres\n",
			want: []string{`line 1: store.postgres.dsn_file: is required: point it at a file holding the secret (or set dsn_env to an environment variable name)`},
		},
		{
			name: "non-positive budget, bad currency, bad cpa, bad period",
			body: "connectors:\n  yandex_direct:\n    - id: y\n      oauth: {access_token_file: trello-token}\n" + `pacing:
  budget_lines:
    - id: l1
      timezone: Europe/Moscow
      period: {start: "2026-11-30", end: "2026-11-01"}
      budget: 0
      currency: rub
      target_cpa: -5
      campaigns: ["yandex_direct:1"]
`,
			want: []string{
				`line 9: pacing.budget_lines[0].period.end: 2026-11-01 is before start 2026-11-30: swap them`,
				`line 10: pacing.budget_lines[0].budget: must be positive: the amount for the period in currency units, e.g. 1500000`,
				`line 11: pacing.budget_lines[0].currency: "rub" is not a currency code: use ISO 4217, e.g. RUB`,
				`line 12: pacing.budget_lines[0].target_cpa: must be positive, or left out when the line has no CPA target`,
			},
		},
		{
			name: "bid bounds",
			body: "connectors:\n  yandex_direct:\n    - id: y\n      oauth: {access_token_file: trello-token}\n" + `pacing:
  budget_lines:
    - {id: a, timezone: UTC, budget: 1, currency: RUB, min_bid: 0, max_bid: -1, campaigns: ["yandex_direct:1"]}
    - {id: b, timezone: UTC, budget: 1, currency: RUB, min_bid: 90, max_bid: 40, campaigns: ["yandex_direct:2"]}
`,
			want: []string{
				`line 7: pacing.budget_lines[0].min_bid: must be positive (the lowest bid the engine may set, in the line's currency), or left out`,
				`line 7: pacing.budget_lines[0].max_bid: must be positive (the highest bid the engine may set, in the line's currency), or left out`,
				`line 8: pacing.budget_lines[1].max_bid: 40.00 is below min_bid 90.00: raise max_bid or lower min_bid`,
			},
		},
		{
			name: "money with a comma",
			body: "pacing:\n  budget_lines:\n    - id: l1\n      budget: 1 500 000,00\n",
			want: []string{`line 4: pacing.budget_lines[0].budget: invalid amount "1 500 000,00": write a plain decimal number with at most 6 decimals and no thousands separators, such as 1500000 or 2500.50`},
		},
		{
			name: "campaigns: bad id, unconfigured platform, shared campaign",
			body: "connectors:\n  yandex_direct:\n    - id: y\n      oauth: {access_token_file: trello-token}\n" + `pacing:
  budget_lines:
    - {id: a, timezone: UTC, budget: 1, currency: RUB, campaigns: ["yandex_direct:1", "bing:2", "google_ads:3"]}
    - {id: a, timezone: UTC, budget: 1, currency: RUB, campaigns: ["yandex_direct:1"]}
`,
			want: []string{
				`line 7: pacing.budget_lines[0].campaigns[1]: campaign id "bing:2": unknown platform "bing" (want yandex_direct, google_ads or vk_ads)`,
				`line 7: pacing.budget_lines[0].campaigns[2]: no google_ads connector is configured: add one under connectors.google_ads or remove the campaign`,
				`line 8: pacing.budget_lines[1].id: duplicate budget line id "a": ids must be unique`,
				`line 8: pacing.budget_lines[1].campaigns[0]: campaign yandex_direct:1 already belongs to budget line "a": a campaign's spend can count against one line only`,
			},
		},
		{
			name: "google ads ids and oauth",
			body: "connectors:\n  google_ads:\n    - id: g\n      customer_id: 123-456-789\n      api_version: 22\n      access_level: premium\n      oauth:\n        client_secret_file: client-secret\n        refresh_token_file: refresh-token\n",
			want: []string{
				`line 5: connectors.google_ads[0].api_version: "22" is not an API version: use e.g. v26`,
				`line 4: connectors.google_ads[0].customer_id: "123456789" is not a customer id: use the 10 digits shown in Google Ads, e.g. 123-456-7890`,
				`line 7: connectors.google_ads[0].oauth.client_id: is empty: set the OAuth client id of your Google Cloud project`,
				`line 6: connectors.google_ads[0].access_level: unknown access level "premium": use explorer, basic or standard`,
			},
		},
		{
			name: "yandex limits and language",
			body: "connectors:\n  yandex_direct:\n    - id: Y_1!\n      accept_language: de\n      max_in_flight: 12\n      oauth: {access_token_file: trello-token}\n      goals: [0]\n      stall_share: 1.5\n",
			want: []string{
				`line 3: connectors.yandex_direct[0].id: "Y_1!" is not a valid id: use lowercase letters, digits, - and _ (at most 63)`,
				`line 4: connectors.yandex_direct[0].accept_language: unknown language "de": use en, ru or tr`,
				`line 5: connectors.yandex_direct[0].max_in_flight: 12 is out of range: use 1 to 5 (Yandex Direct answers 506 above 5 concurrent requests per advertiser)`,
				`line 7: connectors.yandex_direct[0].goals[0]: goal id 0 must be positive: copy it from Yandex Metrica`,
				`line 8: connectors.yandex_direct[0].stall_share: 1.5 is out of range: use a share of a day's spend from 0 (no stall check) to 1, e.g. 0.05`,
			},
		},
		{
			name: "trello alerts and webhook",
			body: trelloOK + "      alerts:\n        lists: {approved: Alerts}\n        labels: {urgent: red}\n        comment_interval: -1h\n      webhook:\n        enabled: true\n        secret_file: trello-key\n        callback_url: http://example.com/hook\n",
			want: []string{
				`line 9: connectors.trello[0].alerts.lists.approved: list name "Alerts" is also used for alerts: each role needs its own list`,
				`line 10: connectors.trello[0].alerts.labels.urgent: unknown severity "urgent": use critical, warning or info`,
				`line 11: connectors.trello[0].alerts.comment_interval: must be a positive duration such as 30s or 5m`,
				`line 15: connectors.trello[0].webhook.callback_url: "http://example.com/hook" is not an https URL: Trello calls back only public https URLs, e.g. https://adpacer.example.com/webhooks/trello`,
			},
		},
		{
			name: "policy ranges and line mode above global",
			body: "mode: dry-run\nconnectors:\n  yandex_direct:\n    - id: y\n      oauth: {access_token_file: trello-token}\n" + `pacing:
  policy:
    max_bid_step_pct: 0
    reserve_pct: 80
    overdelivery: {google_ads: 0.5, bing: 2}
  budget_lines:
    - {id: a, timezone: UTC, budget: 1, currency: RUB, mode: apply, campaigns: ["yandex_direct:1"]}
`,
			want: []string{
				`line 9: pacing.policy.reserve_pct: 80 is out of range: use a percentage in [0, 50]`,
				`line 8: pacing.policy.max_bid_step_pct: 0 is out of range: use a percentage in (0, 100]`,
				`line 10: pacing.policy.overdelivery.bing: unknown platform "bing": use yandex_direct, google_ads or vk_ads`,
				`line 10: pacing.policy.overdelivery.google_ads: 0.5 is below 1: it is the worst-case day spend as a multiple of the daily budget`,
				`line 12: pacing.budget_lines[0].mode: apply is above the global mode dry-run: a line may only lower the mode; raise the global mode first`,
			},
		},
		{
			name: "yaml syntax error",
			body: "mode: dry-run\n  store: x\n",
			want: []string{`line 2: YAML syntax error: mapping values are not allowed in this context`},
		},
		{
			name: "empty file",
			body: "",
			want: []string{`the file is empty: start from deploy/config/minimal.yaml`},
		},
		{
			name: "two documents",
			body: "mode: apply\n---\nmode: observe\n",
			want: []string{`line 2: more than one YAML document (---): keep the whole configuration in one document`},
		},
		{
			name: "budget lines from both sources, missing csv",
			body: "pacing:\n  budget_lines_file: lines.csv\n  budget_lines:\n    - {id: a, timezone: UTC, budget: 1, currency: RUB, campaigns: [\"vk_ads:1\"]}\n",
			want: []string{
				`line 2: pacing.budget_lines_file: both budget_lines and budget_lines_file are set: keep one source of budget lines`,
				`line 2: pacing.budget_lines_file: cannot open @DIR@/lines.csv (no such file or directory): fix the path (relative paths are resolved against the config file's directory)`,
				`line 4: pacing.budget_lines[0].campaigns[0]: no vk_ads connector is configured: add one under connectors.vk_ads or remove the campaign`,
			},
		},
	}
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			got := problems(t, p)
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.ReplaceAll(w, "@DIR@", filepath.Dir(p))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorListsEveryProblem(t *testing.T) {
	p := writeConfig(t, "mode: yolo\nlog:\n  level: loud\n")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	want := "config " + p + ": 2 problems:\n  - line 1: mode: unknown mode \"yolo\": use observe, dry-run, approve or apply\n  - line 3: log.level: unknown level \"loud\": use debug, info, warn or error"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}

func TestDefaults(t *testing.T) {
	p := writeConfig(t, "mode: observe\n"+trelloOK+"  google_ads:\n    - id: g\n      customer_id: customers/123-456-7890\n      oauth: {client_id: c, client_secret_file: client-secret, refresh_token_file: refresh-token}\n  yandex_direct:\n    - id: y\n      sandbox: true\n      oauth: {access_token_file: trello-token}\n")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"store.driver", cfg.Store.Driver, "sqlite"},
		{"store.sqlite.path", cfg.Store.SQLite.Path, DefaultSQLitePath},
		{"store.migrate_on_start", cfg.Store.MigrateOnStart, true},
		{"http.listen", cfg.HTTP.Listen, "127.0.0.1:9464"},
		{"shutdown_timeout", cfg.ShutdownTimeout.D(), 25 * time.Second},
		{"jobs.pace.schedule", cfg.Jobs.Pace.Schedule, "@every 15m"},
		{"google customer_id normalised", cfg.Connectors.GoogleAds[0].CustomerID, "1234567890"},
		{"google token_url", cfg.Connectors.GoogleAds[0].OAuth.TokenURL, "https://oauth2.googleapis.com/token"},
		{"google api_version", cfg.Connectors.GoogleAds[0].APIVersion, "v26"},
		{"yandex sandbox url", cfg.Connectors.YandexDirect[0].BaseURL, "https://api-sandbox.direct.yandex.com"},
		{"yandex max_in_flight", cfg.Connectors.YandexDirect[0].MaxInFlight, 5},
		{"yandex stall_share", *cfg.Connectors.YandexDirect[0].StallShare, 0.05},
		{"google stall_share", *cfg.Connectors.GoogleAds[0].StallShare, 0.05},
		{"trello base", cfg.Connectors.Trello[0].BaseURL, "https://api.trello.com/1"},
		{"trello approvals list", cfg.Connectors.Trello[0].Alerts.Lists.Approvals, "Approvals"},
		{"trello key loaded", cfg.Connectors.Trello[0].Key.Reveal(), "k1"},
		{"google secret loaded", cfg.Connectors.GoogleAds[0].OAuth.ClientSecret.Reveal(), "cs"},
	}
	for _, c := range checks {
		if !cmp.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestCredentialsDirectory(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "trello-token"), []byte("from-creds-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "trello-key"), []byte("key-from-creds"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	cfg, err := Load(writeConfig(t, trelloOK))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connectors.Trello[0].Token.Reveal(); got != "from-creds-dir" {
		t.Errorf("token = %q, want the value from $CREDENTIALS_DIRECTORY", got)
	}
}

func TestSecretFromEnv(t *testing.T) {
	t.Setenv("ADPACER_TEST_EVERHOUR_KEY", "  env-key \n")
	cfg, err := Load(writeConfig(t, "connectors:\n  everhour:\n    - id: e\n      api_key_env: ADPACER_TEST_EVERHOUR_KEY\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connectors.Everhour[0].APIKey.Reveal(); got != "env-key" {
		t.Errorf("api key = %q, want env-key", got)
	}
	if got := cfg.Connectors.Everhour[0].TimeZone; got != "Europe/Moscow" {
		t.Errorf("everhour timezone default = %q, want Europe/Moscow", got)
	}
}

// TestDeployConfigs parses and validates every YAML file in deploy/config.
func TestDeployConfigs(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	files, err := filepath.Glob("../../deploy/config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d files in deploy/config, want example.yaml and minimal.yaml", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
			if _, err := cfg.Lines(now, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExampleConfigContent(t *testing.T) {
	cfg, err := Load("../../deploy/config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Connectors.YandexDirect); n != 2 {
		t.Errorf("yandex accounts = %d, want 2", n)
	}
	lines, err := cfg.Lines(time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, l := range lines {
		byID[l.ID] = i
	}
	nsk := lines[byID["retail-nsk"]]
	if nsk.Budget != adpacer.MustMicros("450000.50") {
		t.Errorf("retail-nsk budget = %s, want exactly 450000.50", nsk.Budget)
	}
	if nsk.Period.Start != "2026-02-01" || nsk.Period.End != "2026-02-28" {
		t.Errorf("default period = %+v, want February 2026", nsk.Period)
	}
	if nsk.MinBid == nil || *nsk.MinBid != adpacer.FromUnits(5) || nsk.MaxBid == nil || *nsk.MaxBid != adpacer.FromUnits(120) {
		t.Errorf("retail-nsk bids %v..%v, want 5..120", nsk.MinBid, nsk.MaxBid)
	}
	if nsk.Mode != ModeDryRun {
		t.Errorf("line mode = %q, want the global dry-run", nsk.Mode)
	}
	if got := lines[byID["sme-vvo"]]; got.Period.Start != "2026-11-01" || got.Mode != ModeObserve {
		t.Errorf("sme-vvo = %+v, want its own period and observe mode", got)
	}
	pol := cfg.Policy()
	if pol.MaxBidStepPct != 15 || pol.Overdelivery[adpacer.GoogleAds] != 2.0 || pol.Overdelivery[adpacer.YandexDirect] != 1.3 {
		t.Errorf("policy overrides not applied over defaults: %+v", pol)
	}
}

func TestDefaultPeriodAtMonthEndInFarEastZone(t *testing.T) {
	// 2026-01-31 20:00 UTC is already 1 February in Vladivostok (UTC+10).
	cfg := Default()
	cfg.Pacing.BudgetLines = []BudgetLine{{ID: "a", TimeZone: "Asia/Vladivostok", Budget: 1, Currency: "RUB"}}
	lines, err := cfg.Lines(time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := lines[0].Period; p.Start != "2026-02-01" || p.End != "2026-02-28" {
		t.Errorf("period = %+v, want February in the line's zone", p)
	}
}

func writeFile(cfgPath, name, body string) error {
	return os.WriteFile(filepath.Join(filepath.Dir(cfgPath), name), []byte(body), 0o600)
}

func TestLoadAndValidateReportsDecodeAndValidationProblemsTogether(t *testing.T) {
	p := writeConfig(t, "mode: yolo\nshutdown_timeout: 1x\nhttp:\n  listen: 0.0.0.0:1\n  bogus: 1\n")
	_, err := LoadAndValidate(p)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("LoadAndValidate = %v, want *Error", err)
	}
	var got []string
	for _, pr := range ce.Problems {
		got = append(got, pr.String())
	}
	want := []string{
		`line 1: mode: unknown mode "yolo": use observe, dry-run, approve or apply`,
		`line 2: shutdown_timeout: invalid duration "1x": write Go duration text such as 90s, 15m or 2h`,
		`line 3: http.status_token_file: is required: point it at a file holding the secret (or set status_token_env to an environment variable name)`,
		`line 5: http.bogus: unknown key "bogus": remove it or use one of: listen, status_token_env, status_token_file`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	cfg, err := LoadAndValidate("../../deploy/config/example.yaml")
	if err != nil || cfg == nil {
		t.Fatalf("LoadAndValidate(example) = %v, %v", cfg, err)
	}
}

func TestBudgetLinesFile(t *testing.T) {
	body := "connectors:\n  yandex_direct:\n    - id: y\n      oauth: {access_token_file: trello-token}\npacing:\n  budget_lines_file: lines.csv\n"
	p := writeConfig(t, body)
	if err := writeFile(p, "lines.csv", "id,timezone,month,budget,currency,campaigns\nretail-msk,Europe/Moscow,2026-11,1500000.00,RUB,yandex_direct:1;yandex_direct:2\n"); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadAndValidate(p)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := cfg.Lines(time.Now(), pacing.ParseLinesCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Budget != adpacer.FromUnits(1500000) || len(lines[0].Campaigns) != 2 {
		t.Errorf("lines = %+v", lines)
	}

	if err := writeFile(p, "lines.csv", "id,timezone,month,budget,currency,campaigns\nretail-msk,Mars/Olympus,2026-11,-5,RUB,yandex_direct:1\n"); err != nil {
		t.Fatal(err)
	}
	_, err = LoadAndValidate(p)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("LoadAndValidate(bad csv) = %v, want *Error", err)
	}
	var got []string
	for _, pr := range ce.Problems {
		got = append(got, pr.String())
	}
	want := []string{
		`line 6: pacing.budget_lines_file: row 2, column timezone: unknown time zone "Mars/Olympus": use an IANA zone such as Europe/Moscow or Asia/Vladivostok`,
		`line 6: pacing.budget_lines_file: row 2, column budget: must be positive: the amount for the period in currency units, e.g. 1500000`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}

	// A row the CSV parser itself rejects is reported with the parser's row.
	if err := writeFile(p, "lines.csv", "id,timezone,month,budget,currency,campaigns\nretail-msk,UTC,2026-11,lots,RUB,yandex_direct:1\n"); err != nil {
		t.Fatal(err)
	}
	_, err = LoadAndValidate(p)
	if err == nil || !strings.Contains(err.Error(), "pacing.budget_lines_file: ") || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("LoadAndValidate(unparsable csv) = %v, want the parser's row-numbered problem", err)
	}
}

func TestVKAdsConfig(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	t.Run("defaults", func(t *testing.T) {
		p := writeConfig(t, "connectors:\n  vk_ads:\n    - id: vk-bank\n      client_id: abc123\n      client_secret_file: client-secret\n      agency_client_name: bank@agency\n"+
			"pacing:\n  budget_lines:\n    - {id: a, timezone: Europe/Moscow, budget: 1, currency: RUB, campaigns: [\"vk_ads:1\"]}\n")
		cfg, err := LoadAndValidate(p)
		if err != nil {
			t.Fatal(err)
		}
		v := cfg.Connectors.VKAds[0]
		checks := []struct {
			name      string
			got, want any
		}{
			{"base_url", v.BaseURL, "https://ads.vk.com"},
			{"schedule", v.Schedule, "@every 10m"},
			{"timeout", v.Timeout.D(), time.Minute},
			{"stall_share", *v.StallShare, DefaultStallShare},
			{"client_secret loaded", v.ClientSecret.Reveal(), "cs"},
			{"agency_client_name", v.AgencyClientName, "bank@agency"},
		}
		for _, c := range checks {
			if !cmp.Equal(c.got, c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
	t.Run("problems", func(t *testing.T) {
		p := writeConfig(t, "connectors:\n  vk_ads:\n    - id: VK!\n      base_url: ads.vk.com\n      agency_client_name: \" bank\"\n      schedule: sometimes\n      timeout: -1s\n      stall_share: 2\n"+
			"    - id: vk-two\n      client_id: abc\n      client_secret_file: no-such-file\n")
		want := []string{
			`line 3: connectors.vk_ads[0].id: "VK!" is not a valid id: use lowercase letters, digits, - and _ (at most 63)`,
			`line 4: connectors.vk_ads[0].base_url: "ads.vk.com" is not an http(s) URL: use e.g. https://api.example.com`,
			`line 3: connectors.vk_ads[0].client_id: is empty: copy the client_id of the API access from VK Ads (Settings, API access)`,
			`line 3: connectors.vk_ads[0].client_secret_file: is required: point it at a file holding the secret (or set client_secret_env to an environment variable name)`,
			`line 5: connectors.vk_ads[0].agency_client_name: " bank" has leading or trailing spaces: write the client's login exactly`,
			`line 6: connectors.vk_ads[0].schedule: invalid cron spec "sometimes" (expected exactly 5 fields, found 1: [sometimes]): use five fields (minute hour day month weekday) such as "*/15 * * * *", or a descriptor such as "@every 15m" or "@hourly"`,
			`line 7: connectors.vk_ads[0].timeout: must be a positive duration such as 30s or 5m`,
			`line 8: connectors.vk_ads[0].stall_share: 2 is out of range: use a share of a day's spend from 0 (no stall check) to 1, e.g. 0.05`,
			`line 11: connectors.vk_ads[1].client_secret_file: file @DIR@/no-such-file does not exist: create it or fix the path (relative paths are resolved against $CREDENTIALS_DIRECTORY when set, else against the config file's directory)`,
		}
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], "@DIR@", filepath.Dir(p))
		}
		if diff := cmp.Diff(want, problems(t, p)); diff != "" {
			t.Errorf("problems mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("inline secret refused", func(t *testing.T) {
		p := writeConfig(t, "connectors:\n  vk_ads:\n    - id: vk\n      client_id: abc\n      client_secret: CANARY-vk-secret\n")
		got := problems(t, p)
		want := []string{`line 5: connectors.vk_ads[0].client_secret: inline secret values are not allowed: put the value in a file and set the matching *_file key (or name an environment variable in *_env)`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("secret never printed", func(t *testing.T) {
		p := writeConfig(t, "connectors:\n  vk_ads:\n    - id: vk\n      client_id: abc\n      client_secret_file: vk-secret\n")
		if err := writeFile(p, "vk-secret", "vk-CANARY-secret\n"); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadAndValidate(p)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Connectors.VKAds[0].ClientSecret.Reveal() != "vk-CANARY-secret" {
			t.Fatalf("secret not loaded")
		}
		out := fmt.Sprintf("%v %+v %#v", cfg.Connectors.VKAds[0], cfg.Connectors.VKAds[0], cfg.Connectors.VKAds[0].ClientSecret)
		if !strings.Contains(out, Redacted) || strings.Contains(out, "CANARY") {
			t.Errorf("rendering %s", out)
		}
	})
}
