package googleadstest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

// AddRefreshToken registers a valid refresh token.
func (s *Server) AddRefreshToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[tok] = true
}

// RevokeRefreshToken makes tok answer invalid_grant and invalidates every
// access token (Google revokes the grant as a whole).
func (s *Server) RevokeRefreshToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[tok] = false
	s.access = map[string]time.Time{}
}

// IssueAccessToken mints an access token valid for ttl without the token
// endpoint (for tests that use oauth2.StaticTokenSource).
func (s *Server) IssueAccessToken(ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := "ya29.fake-" + randomHex(12)
	s.access[tok] = s.opts.Now().Add(ttl)
	return tok
}

// ExpireAccessTokens makes every issued access token expired, as if an hour
// had passed.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for k := range s.access {
		s.access[k] = now
	}
}

// RefreshTokenValid reports whether tok is registered and not revoked.
func (s *Server) RefreshTokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh[tok]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handleToken implements POST /token with grant_type=refresh_token. Client
// credentials are accepted in the form or as HTTP Basic auth, as Google does.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls.Token++
	s.mu.Unlock()
	oauthErr := func(status int, code, desc string) {
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		oauthErr(http.StatusMethodNotAllowed, "invalid_request", "POST required")
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
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		oauthErr(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "refresh_token" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	valid := rt != "" && s.refresh[rt]
	if !valid {
		s.mu.Unlock()
		oauthErr(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	access := "ya29.fake-" + randomHex(12)
	s.access[access] = s.opts.Now().Add(s.opts.AccessTokenTTL)
	resp := map[string]any{
		"access_token": access,
		"expires_in":   int(s.opts.AccessTokenTTL / time.Second),
		"scope":        "https://www.googleapis.com/auth/adwords",
		"token_type":   "Bearer",
	}
	if s.opts.RotateRefreshTokens {
		next := "1//fake-" + randomHex(12)
		s.refresh[rt] = false
		s.refresh[next] = true
		resp["refresh_token"] = next
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}
