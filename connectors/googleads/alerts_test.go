package googleads_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
	"github.com/adpacer/adpacer/pacing"
)

// apiRequests counts every request that reached the fake's API (answered
// or refused), not the token endpoint.
func apiRequests(c googleadstest.Calls) int {
	return c.Search + c.SearchPages + c.SearchStream + c.Mutate + c.ValidateOnly + c.ListAccessible + c.Rejected
}

// 6.2.2 with api-notes §2.2 "do not retry; alert a human": a revoked
// refresh token makes the client fail terminally, raise one alert naming
// the account and the fix, and stop: later pulls, observes and applies
// reach neither the token endpoint nor the API, and spend no operations.
// The plain golang.org/x/oauth2 source matters because it neither marks
// invalid_grant terminal nor stops asking the endpoint: the client must.
func TestContractRevokedGrantRaisesAlertAndStops(t *testing.T) {
	const refresh = "1//refresh-canary-51d2"
	tests := []struct {
		name   string
		ttl    time.Duration
		source func(e *env) oauth2.TokenSource
	}{
		{
			// A long-lived access token: revocation shows first as a 401
			// OAUTH_TOKEN_INVALID; the client invalidates, oauthx refreshes
			// and meets invalid_grant.
			name: "oauthx source, revoked mid-token",
			source: func(e *env) oauth2.TokenSource {
				src, err := oauthx.New(oauthx.Config{
					Name: "google_ads", ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(),
					TokenURL: e.fake.TokenURL(), RefreshToken: refresh, Store: &oauthxtest.MemStore{},
					HTTPClient: e.fake.Client(), Now: e.clk.Now,
				})
				must(e.t, err)
				return src
			},
		},
		{
			// 5s tokens sit inside oauth2's 10s expiry margin, so every
			// Token call goes to the endpoint, as after an hour in production.
			name: "plain oauth2 source",
			ttl:  5 * time.Second,
			source: func(e *env) oauth2.TokenSource {
				conf := oauth2.Config{ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(),
					Endpoint: oauth2.Endpoint{TokenURL: e.fake.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
				return conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, e.fake.Client()), &oauth2.Token{RefreshToken: refresh})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, googleadstest.Options{AccessTokenTTL: tt.ttl})
			e.seed(3)
			e.fake.AddRefreshToken(refresh)
			c := e.client(func(o *googleads.Options) { o.TokenSource = tt.source(e) })
			if _, err := pull(c, e, "2026-11-09"); err != nil || len(c.Alerts()) != 0 {
				t.Fatalf("pull before revocation: %v, alerts %v", err, c.Alerts())
			}
			e.fake.RevokeRefreshToken(refresh)
			before := e.fake.Calls()
			used := c.Budget().Used()

			_, err := pull(c, e, "2026-11-09")
			if !adpacer.IsTerminal(err) || !errors.Is(err, oauthx.ErrTokenRevoked) {
				t.Fatalf("pull after revocation: want terminal ErrTokenRevoked, got %v", err)
			}
			alerts := c.Alerts()
			if len(alerts) != 1 {
				t.Fatalf("want one alert, got %+v", alerts)
			}
			a := alerts[0]
			if a.Key != "google_ads:auth:"+cid || a.Severity != adpacer.SeverityCritical || a.Kind != "connector_auth" || a.Fingerprint != "invalid_grant" ||
				!strings.Contains(a.Title, "123-456-7890") || !strings.Contains(a.Detail, "What to do") ||
				!strings.Contains(a.Detail, "new refresh token") || !strings.Contains(a.Detail, "restart adpacer") {
				t.Fatalf("alert does not name the account and the fix: %+v", a)
			}
			afterFirst := e.fake.Calls()
			if n := afterFirst.Token - before.Token; n != 1 {
				t.Fatalf("token endpoint called %d times by the failing pull, want 1", n)
			}
			if n := apiRequests(afterFirst) - apiRequests(before); n > 1 {
				t.Fatalf("failing pull sent %d API requests, want at most the one that met the 401", n)
			}

			// Stopped: every later call fails the same way at once.
			for i := 0; i < 3; i++ {
				if _, err := pull(c, e, "2026-11-09"); !adpacer.IsTerminal(err) || !errors.Is(err, oauthx.ErrTokenRevoked) {
					t.Fatalf("pull %d: %v", i, err)
				}
			}
			if _, err := c.Observe(ctx, []adpacer.CampaignID{gid(1)}); !adpacer.IsTerminal(err) {
				t.Fatalf("observe: %v", err)
			}
			if _, err := c.Apply(ctx, budgetActions(2, "900"), pacing.ApplyOptions{}); !adpacer.IsTerminal(err) {
				t.Fatalf("apply: %v", err)
			}
			if _, err := c.Mutate(ctx, "campaignBudgets", []googleads.Operation{{UpdateMask: "amountMicros",
				Update: map[string]any{"resourceName": "customers/" + cid + "/campaignBudgets/1", "amountMicros": "900000000"}}}, false); !adpacer.IsTerminal(err) {
				t.Fatalf("mutate: %v", err)
			}
			final := e.fake.Calls()
			if final.Token != afterFirst.Token || apiRequests(final) != apiRequests(afterFirst) {
				t.Fatalf("stopped client still called out: token %d -> %d, API %d -> %d",
					afterFirst.Token, final.Token, apiRequests(afterFirst), apiRequests(final))
			}
			if n := c.Budget().Used() - used; n > 1 {
				t.Fatalf("stopped client spent %d operations of the daily allowance", n)
			}
			if got := c.Alerts(); len(got) != 1 || got[0] != a {
				t.Fatalf("alert changed while stopped: %+v", got)
			}
			if b, ok := e.fake.Budget(cid, 1); !ok || b.AmountMicros != 1_000_000_000 {
				t.Fatalf("budget changed by a stopped client: %+v", b)
			}
			if s := fmt.Sprintf("%v %+v", err, a); strings.Contains(s, refresh) {
				t.Fatalf("refresh token leaked: %s", s)
			}
		})
	}
}

// A token source returning a terminal error (oauthx refusing the OAuth
// client) stops the client too, with an alert that says what to fix,
// before any request is sent.
func TestTerminalTokenSourceRaisesAlert(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	src := &countingSource{err: adpacer.Terminal(errors.New("oauth google_ads: token endpoint refused the client (invalid_client): check client_id and client_secret"))}
	c := e.client(func(o *googleads.Options) { o.TokenSource = src })
	for i := 0; i < 3; i++ {
		if _, err := pull(c, e, "2026-11-09"); !adpacer.IsTerminal(err) || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	al := c.Alerts()
	if len(al) != 1 || al[0].Key != "google_ads:auth:"+cid || !strings.Contains(al[0].Detail, "client_secret") || !strings.Contains(al[0].Title, "123-456-7890") {
		t.Fatalf("alerts %+v", al)
	}
	if src.calls != 1 || apiRequests(e.fake.Calls()) != 0 {
		t.Fatalf("token source asked %d times, %d API requests; want 1 and 0", src.calls, apiRequests(e.fake.Calls()))
	}
}

// An auth refusal of the API itself (an access token the source cannot
// replace) raises the account's alert, and the next successful call clears
// it: access restored by an administrator needs no restart.
func TestAPIAuthAlertClearsAfterSuccess(t *testing.T) {
	e := newEnv(t, googleadstest.Options{})
	e.seed(1)
	src := &countingSource{tok: "ya29.not-issued"}
	c := e.client(func(o *googleads.Options) { o.TokenSource = src })
	_, err := pull(c, e, "2026-11-09")
	if !adpacer.IsTerminal(err) || apiError(t, err).Kind() != googleads.KindAuth {
		t.Fatalf("want a terminal auth error, got %v", err)
	}
	al := c.Alerts()
	if len(al) != 1 || al[0].Key != "google_ads:auth:"+cid || !strings.Contains(al[0].Fingerprint, "OAUTH_TOKEN_INVALID") ||
		!strings.Contains(al[0].Detail, "What to do") || strings.Contains(fmt.Sprint(al), "ya29.not-issued") {
		t.Fatalf("alerts %+v", al)
	}
	src.set(e.fake.IssueAccessToken(time.Hour))
	if _, err := pull(c, e, "2026-11-09"); err != nil {
		t.Fatal(err)
	}
	if al := c.Alerts(); len(al) != 0 {
		t.Fatalf("alert not cleared after a successful pull: %+v", al)
	}
}

// countingSource returns a fixed token or error and counts calls.
type countingSource struct {
	mu    sync.Mutex
	tok   string
	err   error
	calls int
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return &oauth2.Token{AccessToken: s.tok}, nil
}

func (s *countingSource) set(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = tok
}
