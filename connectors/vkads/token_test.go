package vkads_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
)

// One token serves many calls, survives a restart through the store, and
// is renewed with the refresh token (no new slot) when it nears expiry.
func TestTokenCachedPersistedAndRefreshed(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	for i := 0; i < 3; i++ {
		if err := observe(t, c, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Calls(vkadstest.RouteToken); n != 1 {
		t.Fatalf("token requests = %d, want 1 (the token is reused)", n)
	}
	if e.tokens.Saves() != 1 {
		t.Fatalf("token saves = %d, want the token persisted", e.tokens.Saves())
	}
	// A restarted process reads the persisted token instead of taking a slot.
	c2 := e.client(t, nil, nil)
	if err := observe(t, c2, id); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls(vkadstest.RouteToken); n != 1 {
		t.Fatalf("token requests after a restart = %d, want still 1", n)
	}
	// Five minutes before expiry (expires_in "86400") the refresh grant runs.
	e.clock.Advance(24*time.Hour - 4*time.Minute)
	if err := observe(t, c2, id); err != nil {
		t.Fatal(err)
	}
	if n, live := e.fake.Calls(vkadstest.RouteToken), e.fake.LiveTokens(clientID, account); n != 2 || live != 1 {
		t.Fatalf("after expiry: %d token requests, %d live tokens; want a refresh (2) holding one slot", n, live)
	}
}

// Deleted tokens (a person freed the slots, or a month unused): the API
// answers 401, the refresh token is refused, and a new client-credentials
// grant takes over without failing the call.
func TestDeletedTokenIsReplaced(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	if err := observe(t, c, id); err != nil {
		t.Fatal(err)
	}
	e.fake.DeleteTokens(clientID, account)
	if err := observe(t, c, id); err != nil {
		t.Fatalf("after the tokens were deleted: %v", err)
	}
	if n, live := e.fake.Calls(vkadstest.RouteToken), e.fake.LiveTokens(clientID, account); n != 3 || live != 1 {
		t.Fatalf("%d token requests (want 3: grant, refused refresh, new grant), %d live", n, live)
	}
}

// The sixth token of a client and user is refused: terminal, with the fix.
func TestSixthTokenIsTerminal(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	for i := 0; i < 5; i++ {
		// Five processes without a token store, each taking a slot.
		if err := observe(t, e.client(t, nil, func(o *vkads.Options) { o.Tokens = nil }), id); err != nil {
			t.Fatal(err)
		}
	}
	err := observe(t, e.client(t, nil, nil), id)
	if !adpacer.IsTerminal(err) || !errors.Is(err, vkads.ErrTokenLimit) || !strings.Contains(err.Error(), "delete unused API tokens") {
		t.Fatalf("err = %v, want terminal ErrTokenLimit with the fix", err)
	}
}

func TestBadCredentialsAndAgency(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	e.fake.AddAgency("agency", "agency-client-id", clientSecret, "bank-client")
	own := e.fake.AddAdPlan("bank-client", vkadstest.AdPlan{BudgetLimitDay: rub(700)})

	err := observe(t, e.client(t, func(c *vkads.Config) { c.ClientSecret = "wrong-" + clientSecret }, nil), own)
	if !adpacer.IsTerminal(err) || !errors.Is(err, vkads.ErrBadCredentials) || !strings.Contains(err.Error(), "client_secret_file") {
		t.Fatalf("wrong secret: %v", err)
	}

	// The agency's own token cannot read its client's plans: 403, terminal,
	// and the fix names agency_client_name.
	err = observe(t, e.client(t, func(c *vkads.Config) { c.ClientID = "agency-client-id" }, nil), own)
	if !adpacer.IsTerminal(err) || !errors.Is(err, vkads.ErrForbidden) || !strings.Contains(err.Error(), "agency_client_name") {
		t.Fatalf("agency's own token: %v", err)
	}

	ag := e.client(t, func(c *vkads.Config) { c.ClientID, c.AgencyClientName = "agency-client-id", "bank-client" }, nil)
	b, err := ag.Pull(context.Background(), connectors.AdPullRequest{Now: t0, StatsFrom: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Campaigns) != 1 || b.Campaigns[0].AccountID != "bank-client" || *b.Campaigns[0].DailyBudget != adpacer.FromUnits(700) {
		t.Fatalf("agency client pull %+v", b.Campaigns)
	}

	err = observe(t, e.client(t, func(c *vkads.Config) { c.ClientID, c.AgencyClientName = "agency-client-id", "stranger" }, nil), own)
	if !adpacer.IsTerminal(err) || !strings.Contains(err.Error(), `agency client "stranger"`) {
		t.Fatalf("unknown agency client: %v", err)
	}
}

// An API that keeps refusing fresh tokens: one re-authorisation, then a
// terminal ErrUnauthorized (no loop).
func TestPersistent401IsTerminal(t *testing.T) {
	var api atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/oauth2/token.json" {
			fmt.Fprint(w, `{"access_token":"at-CANARY","expires_in":"86400","refresh_token":"rt"}`)
			return
		}
		api.Add(1)
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"code":"ERR_INVALID_TOKEN","message":"invalid access token"}}`)
	}))
	defer srv.Close()
	c, err := vkads.New(vkads.Config{ID: "vk-main", BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret}, vkads.Options{Clock: vkadstest.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	err = observe(t, c, 1)
	if !adpacer.IsTerminal(err) || !errors.Is(err, vkads.ErrUnauthorized) || api.Load() != 2 {
		t.Fatalf("err = %v after %d API requests; want terminal ErrUnauthorized after 2", err, api.Load())
	}
}

// Neither the client secret nor any access or refresh token reaches errors,
// logs (at debug, through retries and terminal failures) or metrics, and
// the Config never prints the secret.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 1}})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{BudgetLimitDay: rub(1000)})
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	withLog := func(o *vkads.Options) { o.Logger = log }
	c := e.client(t, nil, withLog)
	var errs []error
	e.fake.FailNext(2, 503)
	_, err := c.Pull(context.Background(), connectors.AdPullRequest{Now: t0})
	errs = append(errs, err)
	_, err = c.Apply(context.Background(), []adpacer.Action{
		{Key: "k1", Campaign: cid(id), Kind: adpacer.SetDailyBudget, Value: micros(adpacer.FromUnits(200))},
		{Key: "k2", Campaign: cid(id), Kind: adpacer.SetBid, Value: micros(adpacer.FromUnits(5))},
	}, vkadsApplyOpts())
	errs = append(errs, err)
	e.fake.DeleteTokens(clientID, account)
	e.tokens.OnSave = func(adpacer.OAuthToken) error { return errors.New("disk full") }
	errs = append(errs, observe(t, c, id))
	errs = append(errs, observe(t, e.client(t, func(c *vkads.Config) { c.ClientSecret += "x" }, withLog), id))
	res, _ := c.Apply(context.Background(), []adpacer.Action{{Key: "k3", Campaign: cid(id), Kind: adpacer.SetBid, Value: micros(1)}}, vkadsApplyOpts())
	for _, r := range res {
		errs = append(errs, r.Err)
	}

	var texts []string
	for _, err := range errs {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	if len(texts) < 2 {
		t.Fatalf("only %d errors: the test would prove little", len(texts))
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured: the test would prove nothing")
	}
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		texts = append(texts, line)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		texts = append(texts, mf.String())
	}
	cfg := e.config()
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg))
	for _, s := range texts {
		for _, secret := range []string{"CANARY", "vk-at-", "vk-rt-", url.QueryEscape(clientSecret)} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q leaked into: %s", secret, s)
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	_, err := vkads.New(vkads.Config{ClientSecret: clientSecret, BaseURL: "ads.vk.com", MaxAttempts: 99}, vkads.Options{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"(no id)", "ID is required", "ClientID is empty", "BaseURL \"ads.vk.com\"", "MaxAttempts 99"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Errorf("error carries the secret: %v", err)
	}
	if _, err := vkads.New(vkads.Config{ID: "vk", ClientID: "c"}, vkads.Options{}); err == nil || !strings.Contains(err.Error(), "ClientSecret is empty") {
		t.Errorf("missing secret: %v", err)
	}
}

// A token endpoint that states no expires_in: the token is used until the
// API refuses it, not requested again for every call.
func TestTokenWithoutExpiryIsReused(t *testing.T) {
	var tokens atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v2/oauth2/token.json" {
			tokens.Add(1)
			fmt.Fprint(w, `{"access_token":"at","token_type":"bearer"}`)
			return
		}
		fmt.Fprint(w, `{"count":0,"offset":0,"limit":250,"items":[]}`)
	}))
	defer srv.Close()
	c, err := vkads.New(vkads.Config{ID: "vk", BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret}, vkads.Options{Clock: vkadstest.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := observe(t, c, 1); err != nil {
			t.Fatal(err)
		}
	}
	if tokens.Load() != 1 {
		t.Fatalf("token requests = %d, want 1", tokens.Load())
	}
}
