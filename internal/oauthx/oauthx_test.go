package oauthx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
)

// stored is what the store holds under name (zero when nothing).
func stored(st *oauthxtest.MemStore, name string) adpacer.OAuthToken {
	t, _ := st.LoadToken(context.Background(), name)
	return t
}

// tokenServer rotates the refresh token on every refresh, like Yandex ID.
type tokenServer struct {
	mu      sync.Mutex
	valid   map[string]bool
	n       int
	calls   atomic.Int32
	expires int
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts.calls.Add(1)
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("client_id") != "cid" {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request"})
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	rt := r.Form.Get("refresh_token")
	if !ts.valid[rt] {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Token expired or revoked SECRETBODY"})
		return
	}
	delete(ts.valid, rt)
	ts.n++
	next := "refresh-" + string(rune('a'+ts.n))
	ts.valid[next] = true
	json.NewEncoder(w).Encode(map[string]any{"access_token": "access-" + next, "refresh_token": next, "token_type": "bearer", "expires_in": ts.expires})
}

func setup(t *testing.T, seed string) (*tokenServer, *httptest.Server, *oauthxtest.MemStore) {
	ts := &tokenServer{valid: map[string]bool{seed: true}, expires: 3600}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	return ts, srv, &oauthxtest.MemStore{}
}

func TestRotatedTokenPersistedBeforeUse(t *testing.T) {
	ts, srv, st := setup(t, "seed")
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	g, err := NewExpiryGauge(reg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Name: "ya1", ClientID: "cid", ClientSecret: "cs", TokenURL: srv.URL, RefreshToken: "seed", Store: st, Now: func() time.Time { return now }, Expiry: g})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "access-refresh-b" || stored(st, "ya1").RefreshToken != "refresh-b" {
		t.Fatalf("token %q stored %+v", tok.AccessToken, stored(st, "ya1"))
	}
	if testutil.ToFloat64(g.WithLabelValues("ya1")) <= 0 {
		t.Fatal("expiry gauge not set")
	}
	// cached while valid
	if _, err := src.Token(); err != nil || ts.calls.Load() != 1 {
		t.Fatalf("second Token: err %v calls %d", err, ts.calls.Load())
	}
	// a restarted process picks the rotated token from the store, not the dead seed
	src2, _ := New(Config{Name: "ya1", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "seed", Store: st, Now: func() time.Time { return now.Add(2 * time.Hour) }})
	tok2, err := src2.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken != "access-refresh-c" || stored(st, "ya1").RefreshToken != "refresh-c" {
		t.Fatalf("after restart: %q stored %+v", tok2.AccessToken, stored(st, "ya1"))
	}
}

func TestExpiryFollowsInjectedClock(t *testing.T) {
	ts, srv, st := setup(t, "seed")
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // far from the wall clock
	src, _ := New(Config{Name: "g", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "seed", Store: st, Now: func() time.Time { return now }})
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if got := stored(st, "g").Expiry; !got.Equal(now.Add(time.Hour)) {
		t.Fatalf("expiry %v, want an hour after the injected now", got)
	}
	now = now.Add(59 * time.Minute) // inside the early-expiry window
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if ts.calls.Load() != 2 {
		t.Fatalf("token endpoint called %d times, want a refresh near expiry", ts.calls.Load())
	}
}

func TestSaveFailureWithholdsToken(t *testing.T) {
	_, srv, st := setup(t, "seed")
	st.OnSave = func(adpacer.OAuthToken) error { return errors.New("disk full") }
	src, _ := New(Config{Name: "g", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "seed", Store: st})
	if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), "persist") {
		t.Fatalf("err = %v, want persist failure", err)
	}
}

func TestRevokedIsTerminalAndDoesNotLoop(t *testing.T) {
	ts, srv, st := setup(t, "other")
	src, _ := New(Config{Name: "g", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "revoked", Store: st})
	for i := 0; i < 5; i++ {
		_, err := src.Token()
		if !errors.Is(err, ErrTokenRevoked) || !adpacer.IsTerminal(err) {
			t.Fatalf("err = %v, want terminal ErrTokenRevoked", err)
		}
		if strings.Contains(err.Error(), "SECRETBODY") || strings.Contains(err.Error(), "revoked\"") {
			t.Fatalf("error carries response body: %v", err)
		}
	}
	if ts.calls.Load() != 1 {
		t.Fatalf("token endpoint called %d times, want 1", ts.calls.Load())
	}
}

func TestDeadStoredTokenFallsBackToNewCredential(t *testing.T) {
	_, srv, st := setup(t, "new-seed")
	if err := st.SaveToken(context.Background(), "g", adpacer.OAuthToken{RefreshToken: "old-rotated"}); err != nil {
		t.Fatal(err)
	}
	src, _ := New(Config{Name: "g", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "new-seed", Store: st})
	if _, err := src.Token(); err != nil {
		t.Fatalf("fallback to the credential file failed: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{})
	if err == nil || !strings.Contains(err.Error(), "refresh_token_file") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte("internal CANARY-SECRET echo"))
	}))
	defer srv.Close()
	src, _ := New(Config{Name: "g", ClientID: "cid", ClientSecret: "CANARY-SECRET", TokenURL: srv.URL, RefreshToken: "CANARY-REFRESH", Store: &oauthxtest.MemStore{}})
	_, err := src.Token()
	if err == nil || strings.Contains(err.Error(), "CANARY") {
		t.Fatalf("err = %v", err)
	}
}

func TestInvalidateForcesRefresh(t *testing.T) {
	ts, srv, st := setup(t, "seed")
	src, _ := New(Config{Name: "y", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "seed", Store: st})
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	tok, err := src.Token()
	if err != nil || ts.calls.Load() != 2 || tok.AccessToken != "access-refresh-c" {
		t.Fatalf("after Invalidate: %v, %d calls, token %v", err, ts.calls.Load(), tok)
	}
}

// A store that fails to persist a rotated token must not cost the only
// valid refresh token: the next call saves the kept token instead of
// refreshing from the dead one (which the provider refuses with
// invalid_grant, needing a person to re-authorise).
func TestFailedPersistKeepsRotatedToken(t *testing.T) {
	ts, srv, st := setup(t, "seed")
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	src, err := New(Config{Name: "ya1", ClientID: "cid", TokenURL: srv.URL, RefreshToken: "seed", Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	saveErr := errors.New("disk full")
	st.OnSave = func(adpacer.OAuthToken) error { return saveErr }
	if tok, err := src.Token(); err == nil || tok != nil {
		t.Fatalf("token handed out without being persisted: %v, %v", tok, err)
	}
	if _, err := src.Token(); err == nil {
		t.Fatal("second call succeeded while the store still fails")
	}
	saveErr = nil
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("after the store recovered: %v", err)
	}
	if tok.AccessToken != "access-refresh-b" || stored(st, "ya1").RefreshToken != "refresh-b" {
		t.Fatalf("token %q, stored %+v: want the token of the one refresh", tok.AccessToken, stored(st, "ya1"))
	}
	if n := ts.calls.Load(); n != 1 {
		t.Fatalf("token endpoint called %d times, want 1 (a second refresh would use the rotated-away token)", n)
	}
}
