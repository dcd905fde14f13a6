package vkads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/store"
)

const tokenPath = "/api/v2/oauth2/token.json"

// errRefreshRejected: the token endpoint refused the refresh token (deleted
// after a month unused, or by a person); a new grant from the client
// credentials replaces it.
var errRefreshRejected = errors.New("vk ads: refresh token rejected")

// tokenSource gets and keeps one VK token. It does not use
// golang.org/x/oauth2/clientcredentials: that package asks for a brand new
// token whenever the old one expires, and VK allows only five live tokens
// per client and user (the sixth request gets 403), so a daemon that
// restarts or runs for a week would lock itself out. Instead the token is
// persisted (when a store is given), refreshed with grant_type=refresh_token
// (which takes no new slot), and a new grant is requested only when there
// is no usable refresh token.
type tokenSource struct {
	name                  string // store key
	id                    string // connector id, for errors and the gauge
	clientID, secret      string
	agencyName            string
	url                   string
	http                  *httpx.Client
	store                 oauthx.TokenStore
	now                   func() time.Time
	early                 time.Duration
	expiry                *prometheus.GaugeVec
	log                   *zap.Logger
	requests, tokenErrors prometheus.Counter
	mu                    sync.Mutex
	tok                   adpacer.OAuthToken
	loaded, dirty         bool
}

// tokenName keys the persisted token by connector id and by the identity
// the token acts for: a token of another client or agency client must never
// be reused after the configuration changes.
func tokenName(id, clientID, agencyName string) string {
	h := sha256.Sum256([]byte(clientID + "\x00" + agencyName))
	return "vk_ads:" + id + ":" + hex.EncodeToString(h[:6])
}

// token returns a usable access token.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded && s.store != nil {
		t, err := s.store.LoadToken(ctx, s.name)
		switch {
		case err == nil:
			s.tok = t
		case errors.Is(err, store.ErrNotFound):
		default:
			return "", fmt.Errorf("vk ads %s: load persisted token: %w", s.id, err)
		}
	}
	s.loaded = true
	if s.dirty {
		s.persist(ctx)
	}
	// A token without a stated expiry is used until the API refuses it
	// (401 invalidates it): asking again on every call would be wasteful.
	if s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || s.now().Add(s.early).Before(s.tok.Expiry)) {
		return s.tok.AccessToken, nil
	}
	var fresh adpacer.OAuthToken
	var err error
	if s.tok.RefreshToken != "" {
		fresh, err = s.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.tok.RefreshToken}})
		if errors.Is(err, errRefreshRejected) {
			s.log.Info("VK Ads refused the stored refresh token; requesting a new token with the client credentials")
			fresh, err = s.newGrant(ctx)
		}
	} else {
		fresh, err = s.newGrant(ctx)
	}
	if err != nil {
		return "", err
	}
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = s.tok.RefreshToken
	}
	s.tok, s.dirty = fresh, true
	if s.expiry != nil && !fresh.Expiry.IsZero() {
		s.expiry.WithLabelValues(s.id).Set(float64(fresh.Expiry.Unix()))
	}
	s.persist(ctx)
	return s.tok.AccessToken, nil
}

// persist saves the current token. A failure is logged, not returned: the
// token works, and withholding it would not make it durable; the save is
// retried on the next call. Without a store tokens live in memory only
// (a restart then takes one of the five slots).
func (s *tokenSource) persist(ctx context.Context) {
	if s.store == nil {
		s.dirty = false
		return
	}
	if err := s.store.SaveToken(ctx, s.name, s.tok); err != nil {
		s.log.Warn("cannot persist the VK Ads token; a restart before the next successful save requests a new one (VK allows 5 per client and user)", zap.Error(err))
		return
	}
	s.dirty = false
}

// invalidate drops the access token after the API refused it: the next
// call refreshes it (or requests a new grant).
func (s *tokenSource) invalidate() {
	s.mu.Lock()
	s.tok.AccessToken = ""
	s.mu.Unlock()
}

func (s *tokenSource) newGrant(ctx context.Context) (adpacer.OAuthToken, error) {
	if s.agencyName != "" {
		return s.grant(ctx, url.Values{"grant_type": {"agency_client_credentials"}, "agency_client_name": {s.agencyName}})
	}
	return s.grant(ctx, url.Values{"grant_type": {"client_credentials"}})
}

type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
}

// grant posts one form to the token endpoint. Errors name the grant and
// the fix, never the client secret, tokens or the response text (which
// might quote the form).
func (s *tokenSource) grant(ctx context.Context, form url.Values) (adpacer.OAuthToken, error) {
	gt := form.Get("grant_type")
	form.Set("client_id", s.clientID)
	form.Set("client_secret", s.secret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return adpacer.OAuthToken{}, fmt.Errorf("vk ads %s: build token request: %w", s.id, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	s.requests.Inc()
	resp, err := s.http.Do(ctx, req)
	if err != nil {
		s.tokenErrors.Inc()
		return adpacer.OAuthToken{}, fmt.Errorf("vk ads %s: token endpoint (%s): %w", s.id, gt, err)
	}
	body, err := httpx.ReadBody(resp, 1<<20)
	if err != nil {
		s.tokenErrors.Inc()
		return adpacer.OAuthToken{}, fmt.Errorf("vk ads %s: token endpoint (%s): %w", s.id, gt, err)
	}
	if resp.StatusCode != http.StatusOK {
		s.tokenErrors.Inc()
		return adpacer.OAuthToken{}, s.grantError(gt, decodeAPIError(endpointToken, resp.StatusCode, body))
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		s.tokenErrors.Inc()
		return adpacer.OAuthToken{}, fmt.Errorf("vk ads %s: token endpoint (%s): %w: no access_token in the answer", s.id, gt, ErrMalformed)
	}
	secs, err := expiresIn(tr.ExpiresIn)
	if err != nil {
		s.tokenErrors.Inc()
		return adpacer.OAuthToken{}, fmt.Errorf("vk ads %s: token endpoint (%s): %w: %v", s.id, gt, ErrMalformed, err)
	}
	t := adpacer.OAuthToken{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: "Bearer"}
	if secs > 0 {
		// Counted on the injected clock: the wall clock is wrong in tests
		// and when the host clock drifts.
		t.Expiry = s.now().Add(time.Duration(secs) * time.Second)
	}
	return t, nil
}

// grantError maps a token endpoint refusal to an error saying what to fix.
func (s *tokenSource) grantError(gt string, e *APIError) error {
	switch {
	case gt == "refresh_token" && (e.Code == "invalid_grant" || e.HTTPStatus == http.StatusBadRequest):
		return errRefreshRejected
	case e.HTTPStatus == http.StatusUnauthorized || e.Code == "invalid_client":
		return adpacer.Terminal(fmt.Errorf("vk ads %s: %w (%s): check client_id and client_secret_file of this connector (VK Ads: Settings, API access): %w", s.id, ErrBadCredentials, gt, e))
	case e.HTTPStatus == http.StatusForbidden && strings.Contains(strings.ToLower(e.Code), "limit"):
		return adpacer.Terminal(fmt.Errorf("vk ads %s: %w: delete unused API tokens of this client in VK Ads (or wait a month for unused ones to expire), then restart adpacer: %w", s.id, ErrTokenLimit, e))
	case e.HTTPStatus == http.StatusForbidden && s.agencyName != "":
		return adpacer.Terminal(fmt.Errorf("vk ads %s: the token endpoint refused agency client %q for this client_id: check agency_client_name (the client's login in the agency account): %w", s.id, s.agencyName, e))
	case e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500:
		return fmt.Errorf("vk ads %s: token endpoint (%s): %w", s.id, gt, e)
	}
	return adpacer.Terminal(fmt.Errorf("vk ads %s: token endpoint refused the %s grant: %w", s.id, gt, e))
}

// expiresIn reads expires_in given as a string ("86400", as the docs show
// for client credentials) or a number (the authorization-code example).
func expiresIn(raw json.RawMessage) (int64, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return 0, nil
	}
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, fmt.Errorf("expires_in: %v", err)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expires_in %q is not a whole number of seconds", s)
	}
	return n, nil
}
