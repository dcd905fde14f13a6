package yandexdirecttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"time"
)

// The Yandex ID token endpoint (api-notes §1.11): POST /token, form
// encoded, grant_type=refresh_token with the client credentials in the form
// or as HTTP Basic. The real endpoint is https://oauth.yandex.ru/token, a
// host of its own; the fake serves it beside the API so one server backs a
// whole test, and TokenURL says where.

// Default OAuth client of the fake.
const (
	DefaultOAuthClientID     = "fake-yandex-client-id"
	DefaultOAuthClientSecret = "fake-yandex-client-secret"
)

// grant is a refresh token's state: the principal it acts for and the
// access token it last issued.
type grant struct {
	p      *principal
	access string
}

// AddRefreshToken registers a refresh token that yields access tokens for
// the same user (and agency rights) as token, which must have been added
// with AddAdvertiser or AddAgency.
func (s *Server) AddRefreshToken(refresh, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.tokens[token]; p != nil {
		s.grants[refresh] = &grant{p: p}
	}
}

// RevokeRefreshToken makes refresh answer invalid_grant (the user revoked
// adpacer's access); access tokens already issued keep working until they
// expire or RevokeToken.
func (s *Server) RevokeRefreshToken(refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants, refresh)
}

// RefreshTokenValid reports whether refresh is registered, not rotated
// away and not revoked.
func (s *Server) RefreshTokenValid(refresh string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[refresh] != nil
}

// TokenUses returns how many API and Reports requests were authenticated
// with an access token (after its expiry and revocation checks).
func (s *Server) TokenUses(access string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenUses[access]
}

// TokenURL is the URL of the fake's token endpoint.
func (s *Server) TokenURL() string { return s.URL() + "/token" }

// OAuthClient returns the client id and secret the token endpoint accepts.
func (s *Server) OAuthClient() (id, secret string) {
	return s.opts.OAuthClientID, s.opts.OAuthClientSecret
}

// HTTPClient is an http.Client for the fake's listener (its connections
// are closed with the server).
func (s *Server) HTTPClient() *http.Client { return s.Client() }

func randomToken(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// serveToken implements the refresh-token grant. On success the refresh
// token rotates (the old one answers invalid_grant from then on) unless
// Options.KeepRefreshTokens, and the access token is new unless the grant's
// current one still has more than Options.ReuseAccessTokenAbove to live
// (Yandex may return it unchanged, api-notes §1.11).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls.Add("oauth.token")
	s.mu.Unlock()
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		oauthErr(http.StatusMethodNotAllowed, "invalid_request", "POST required")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		oauthErr(http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.OAuthClientID || secret != s.opts.OAuthClientSecret {
		// RFC 6749 §5.2: 401 when the client authenticated with Basic.
		status := http.StatusBadRequest
		if basic {
			status = http.StatusUnauthorized
		}
		oauthErr(status, "invalid_client", "Client not found or wrong client secret")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "refresh_token" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "The fake models grant_type=refresh_token only, got "+gt)
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	g := s.grants[rt]
	if rt == "" || g == nil {
		s.mu.Unlock()
		oauthErr(http.StatusBadRequest, "invalid_grant", "Token expired, revoked or already used")
		return
	}
	now := s.clock.Now()
	access := g.access
	if exp, ok := s.tokenExpiry[access]; access == "" || s.opts.ReuseAccessTokenAbove <= 0 || !ok ||
		exp.Sub(now) <= s.opts.ReuseAccessTokenAbove || s.revokedTokens[access] {
		access = randomToken("y0_fake-")
		s.tokens[access] = g.p
		s.tokenExpiry[access] = now.Add(s.opts.AccessTokenTTL)
		g.access = access
	}
	next := rt
	if !s.opts.KeepRefreshTokens {
		next = randomToken("1:fake-")
		delete(s.grants, rt)
		s.grants[next] = g
	}
	ttl := s.tokenExpiry[access].Sub(now)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":  access,
		"refresh_token": next,
		"expires_in":    int64(ttl / time.Second),
		"token_type":    "bearer",
	})
}
