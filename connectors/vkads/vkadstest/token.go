package vkadstest

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
	"strconv"
	"time"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// handleToken implements POST /api/v2/oauth2/token.json (form-encoded):
// client_credentials (the client's own account), agency_client_credentials
// with agency_client_name or agency_client_id (one client of an agency),
// and refresh_token (a new access token for an existing grant: it takes no
// new slot). A new grant beyond MaxTokens live ones for the same client and
// user is refused with 403. expires_in is a string, as in the docs' example.
// Token answers (like 401 answers) carry no X-RateLimit headers: the limits
// are per user, and these requests have none to count against [INF].
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls.Add(RouteToken)
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		oauthErr(w, http.StatusMethodNotAllowed, OAuthInvalidRequest, "POST required")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		oauthErr(w, http.StatusBadRequest, OAuthInvalidRequest, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(w, http.StatusBadRequest, OAuthInvalidRequest, "malformed form body")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	ap := s.apps[f.Get("client_id")]
	if ap == nil || f.Get("client_secret") != ap.secret {
		oauthErr(w, http.StatusUnauthorized, OAuthInvalidClient, "unknown client_id or wrong client_secret")
		return
	}
	var g *grant
	switch gt := f.Get("grant_type"); gt {
	case "client_credentials":
		g = &grant{clientID: ap.clientID, user: ap.account, agencyOwn: ap.agency}
	case "agency_client_credentials":
		if !ap.agency {
			oauthErr(w, http.StatusBadRequest, OAuthInvalidRequest, "agency_client_credentials is for agency clients")
			return
		}
		agency := s.accounts[ap.account]
		name := f.Get("agency_client_name")
		if name == "" {
			if id, err := strconv.ParseInt(f.Get("agency_client_id"), 10, 64); err == nil {
				for n, acc := range s.accounts {
					if acc.id == id {
						name = n
					}
				}
			}
		}
		if name == "" || !agency.clients[name] {
			oauthErr(w, http.StatusForbidden, OAuthAccessDenied, "agency_client_name or agency_client_id does not name a client of this agency")
			return
		}
		g = &grant{clientID: ap.clientID, user: name}
	case "refresh_token":
		old := s.byRefr[f.Get("refresh_token")]
		if old == nil || old.dead || old.clientID != ap.clientID || s.idle(old, now) {
			oauthErr(w, http.StatusBadRequest, OAuthInvalidGrant, "refresh token is invalid, deleted or belongs to another client")
			return
		}
		delete(s.byAccess, old.access)
		old.access = "vk-at-" + randomHex(12)
		if s.opts.RotateRefreshTokens {
			delete(s.byRefr, old.refresh)
			old.refresh = "vk-rt-" + randomHex(12)
			s.byRefr[old.refresh] = old
		}
		old.expires, old.lastUsed = now.Add(s.opts.AccessTokenTTL), now
		s.byAccess[old.access] = old
		s.writeToken(w, old)
		return
	default:
		oauthErr(w, http.StatusBadRequest, OAuthUnsupportedGrant, "grant_type must be client_credentials, agency_client_credentials or refresh_token, not "+strconv.Quote(gt))
		return
	}
	if n := s.liveGrants(g.clientID, g.user, now); n >= s.opts.MaxTokens {
		oauthErr(w, http.StatusForbidden, OAuthTokenLimitExceeded,
			"the client already has "+strconv.Itoa(n)+" tokens for this user: delete unused tokens before requesting a new one")
		return
	}
	g.access, g.refresh = "vk-at-"+randomHex(12), "vk-rt-"+randomHex(12)
	g.expires, g.lastUsed = now.Add(s.opts.AccessTokenTTL), now
	s.byAccess[g.access] = g
	s.byRefr[g.refresh] = g
	s.writeToken(w, g)
}

// idle reports whether a grant went unused long enough to be deleted.
func (s *Server) idle(g *grant, now time.Time) bool {
	return now.Sub(g.lastUsed) >= s.opts.TokenIdleExpiry
}

// liveGrants counts grants that hold a slot for (clientID, user): not
// deleted and used within TokenIdleExpiry (an expired access token with a
// live refresh token still holds its slot).
func (s *Server) liveGrants(clientID, user string, now time.Time) int {
	n := 0
	for _, g := range s.byRefr {
		if g.clientID == clientID && g.user == user && !g.dead && !s.idle(g, now) {
			n++
		}
	}
	return n
}

func (s *Server) writeToken(w http.ResponseWriter, g *grant) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  g.access,
		"token_type":    "bearer",
		"scope":         "read_ads,create_ads",
		"expires_in":    strconv.FormatInt(int64(s.opts.AccessTokenTTL/time.Second), 10),
		"refresh_token": g.refresh,
	})
}

// LiveTokens returns how many token slots a client holds for a user.
func (s *Server) LiveTokens(clientID, user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveGrants(clientID, user, s.clock.Now())
}

// DeleteTokens deletes every token of a client for a user (what a person
// does in the VK Ads cabinet to free the slots): their access and refresh
// tokens stop working.
func (s *Server) DeleteTokens(clientID, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.byRefr {
		if g.clientID == clientID && g.user == user {
			g.dead = true
		}
	}
}

// ExpireAccessTokens makes every issued access token expired (their
// refresh tokens keep working).
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, g := range s.byAccess {
		g.expires = now
	}
}

// IssueAccessToken mints a token for user without the token endpoint and
// outside any client's slots, for raw-HTTP tests; agencyOwn makes it an
// agency's own token.
func (s *Server) IssueAccessToken(user string, agencyOwn bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureAccount(user)
	g := &grant{access: "vk-at-" + randomHex(12), user: user, agencyOwn: agencyOwn,
		expires: s.clock.Now().Add(s.opts.AccessTokenTTL), lastUsed: s.clock.Now()}
	s.byAccess[g.access] = g
	return g.access
}
