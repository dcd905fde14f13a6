package yandexdirect_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
)

// savedToken is the token st holds for the test's connector.
func savedToken(t *testing.T, st *oauthxtest.MemStore) adpacer.OAuthToken {
	t.Helper()
	tok, err := st.LoadToken(context.Background(), "yandex-bank")
	if err != nil {
		t.Fatalf("no token persisted: %v", err)
	}
	return tok
}

// oauthClient builds the connector on internal/oauthx's persisting source
// against the fake's token endpoint, as the daemon does.
func (e *env) oauthClient(t *testing.T, st *oauthxtest.MemStore, refresh string) *yandexdirect.Client {
	t.Helper()
	id, secret := e.fake.OAuthClient()
	src, err := oauthx.New(oauthx.Config{Name: "yandex-bank", ClientID: id, ClientSecret: secret,
		TokenURL: e.fake.TokenURL(), RefreshToken: refresh, Store: st,
		HTTPClient: e.fake.HTTPClient(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := yandexdirect.New(yandexdirect.Config{ID: "yandex-bank", BaseURL: e.fake.URL(), ClientLogin: login}, src,
		yandexdirect.Options{Clock: e.clock, Registerer: e.reg, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// OAuth contract (issue 6, api-notes §1.11): tokens come from Yandex ID's
// refresh-token grant, which rotates the refresh token; the rotated token
// is persisted before the access token that came with it is used, so a
// restart continues from the store; error 53 gets one fresh token; a
// revoked grant is terminal with an alert and no loop.
func TestContractTokenRotationPersistedBeforeUse(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{AccessTokenTTL: time.Hour})
	ids := e.addCampaigns(2, 1)
	e.seedSpend(ids, 2)
	const initial = "1:initial-refresh-CANARY"
	e.fake.AddRefreshToken(initial, token)
	// Only tokens from the endpoint work from now on.
	e.fake.RevokeToken(token)

	var usedBeforeSave []string
	st := &oauthxtest.MemStore{OnSave: func(tok adpacer.OAuthToken) error {
		if n := e.fake.TokenUses(tok.AccessToken); n != 0 {
			usedBeforeSave = append(usedBeforeSave, tok.AccessToken)
		}
		return nil
	}}
	c := e.oauthClient(t, st, initial)
	if _, err := c.Pull(context.Background(), pullReq(2)); err != nil {
		t.Fatalf("pull with a refreshed token: %v", err)
	}
	first := savedToken(t, st)
	switch {
	case first.RefreshToken == initial || !e.fake.RefreshTokenValid(first.RefreshToken):
		t.Fatalf("rotated refresh token not persisted: %+v", first)
	case e.fake.RefreshTokenValid(initial):
		t.Fatal("the fake did not rotate: the test would prove nothing")
	case len(usedBeforeSave) > 0:
		t.Fatalf("access tokens used before their refresh token was persisted: %d", len(usedBeforeSave))
	case e.fake.TokenUses(first.AccessToken) == 0 || st.Saves() != 1 || e.fake.Calls("oauth.token") != 1:
		t.Fatalf("uses %d, saves %d, token calls %d", e.fake.TokenUses(first.AccessToken), st.Saves(), e.fake.Calls("oauth.token"))
	}

	// A restart after the access token expired: the configured refresh
	// token is dead, the persisted one carries on (one token call).
	e.clock.Advance(2 * time.Hour)
	c2 := e.oauthClient(t, st, initial)
	if _, err := c2.Pull(context.Background(), pullReq(2)); err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	second := savedToken(t, st)
	if second.RefreshToken == first.RefreshToken || e.fake.RefreshTokenValid(first.RefreshToken) || e.fake.Calls("oauth.token") != 2 || len(usedBeforeSave) > 0 {
		t.Fatalf("restart: %+v, token calls %d", second, e.fake.Calls("oauth.token"))
	}

	// Error 53 on a token the source still thinks valid: one refresh, one
	// repeat, success.
	e.fake.RevokeToken(second.AccessToken)
	if _, err := c2.Pull(context.Background(), pullReq(2)); err != nil {
		t.Fatalf("pull after error 53: %v", err)
	}
	if third := savedToken(t, st); third.AccessToken == second.AccessToken || e.fake.Calls("oauth.token") != 3 || len(c2.Alerts()) != 0 {
		t.Fatalf("after 53: token calls %d, alerts %v", e.fake.Calls("oauth.token"), c2.Alerts())
	}

	// The user revokes the grant: terminal, an alert, no loop, no secret in
	// the error.
	e.fake.RevokeRefreshToken(savedToken(t, st).RefreshToken)
	e.clock.Advance(2 * time.Hour)
	e.fake.ResetCalls()
	for i := 0; i < 3; i++ {
		_, err := c2.Pull(context.Background(), pullReq(2))
		if !adpacer.IsTerminal(err) || !errors.Is(err, oauthx.ErrTokenRevoked) || strings.Contains(err.Error(), "CANARY") {
			t.Fatalf("pull %d after revocation: %v", i, err)
		}
	}
	calls := e.fake.CallCounts()
	// oauthx tries the stored and the configured refresh token once each.
	if calls["oauth.token"] > 2 || len(calls) != 1 {
		t.Fatalf("calls after revocation %v: must not loop nor reach the API", calls)
	}
	if a := c2.Alerts(); len(a) != 1 || a[0].Kind != "connector_auth" {
		t.Fatalf("alerts %+v", a)
	}
}

// A rotated refresh token that cannot be persisted is never used: the
// access token that came with it does not reach the API. (The provider has
// already rotated the configured token away, so the retry finds the grant
// dead: terminal, with an alert for a person to re-authorise.)
func TestContractTokenNotUsedWhenPersistFails(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.addCampaigns(1, 0)
	e.fake.AddRefreshToken("1:initial", token)
	var failing sync.Mutex
	fail := true
	st := &oauthxtest.MemStore{OnSave: func(adpacer.OAuthToken) error {
		failing.Lock()
		defer failing.Unlock()
		if fail {
			return errors.New("disk full")
		}
		return nil
	}}
	c := e.oauthClient(t, st, "1:initial")
	if _, err := c.Pull(context.Background(), pullReq(2)); err == nil {
		t.Fatal("pull succeeded without a persisted token")
	}
	calls := e.fake.CallCounts()
	// One refresh only: the rotated refresh token is kept in memory and
	// saving it is retried, never refreshed again from the rotated-away
	// token (Yandex would refuse that with invalid_grant for good).
	if calls["oauth.token"] != 1 || len(calls) != 1 {
		t.Fatalf("calls %v: want exactly one token call and no API call", calls)
	}
	if a := c.Alerts(); len(a) != 0 {
		t.Fatalf("a store failure raised an auth alert, but the grant is intact: %+v", a)
	}
	failing.Lock()
	fail = false
	failing.Unlock()
	if _, err := c.Pull(context.Background(), pullReq(2)); err != nil {
		t.Fatalf("pull after the store recovered: %v", err)
	}
	if n := e.fake.CallCounts()["oauth.token"]; n != 1 {
		t.Fatalf("token endpoint called %d times, want 1: the kept token is used once persisted", n)
	}
}
