// Package oauthx is the OAuth2 refresh-token source shared by the Yandex
// Direct and Google Ads connectors. golang.org/x/oauth2 refreshes tokens but
// offers no callback when the provider rotates the refresh token (Yandex
// does on every refresh), so this source persists every new token through a
// TokenStore before handing the access token out: a crash right after a
// refresh can never lose the only valid refresh token.
package oauthx

import (
	"context"
	"errors"
	"fmt"
	"github.com/adpacer/adpacer/internal/promreg"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// ErrTokenRevoked means the provider answered invalid_grant: the refresh
// token was revoked or expired and a person must issue a new one. It is
// returned wrapped in adpacer.Terminal, and the source stops calling the
// token endpoint until restarted with a new credential.
var ErrTokenRevoked = errors.New("oauth: refresh token revoked or expired (invalid_grant): issue a new refresh token and update the credential file")

// TokenStore persists tokens by name; the store package implements it.
type TokenStore interface {
	LoadToken(ctx context.Context, name string) (adpacer.OAuthToken, error)
	SaveToken(ctx context.Context, name string, tok adpacer.OAuthToken) error
}

// Config of a Source.
type Config struct {
	// Name keys the token in the store and labels the expiry metric; use the
	// connector instance id from the config.
	Name string
	// ClientID, ClientSecret and TokenURL describe the OAuth client.
	ClientID     string
	ClientSecret string
	TokenURL     string
	// RefreshToken is the credential from the secret file; a newer token in
	// the store wins over it.
	RefreshToken string
	// Store persists rotated tokens; required.
	Store TokenStore
	// HTTPClient for the token endpoint (an httpx client with retries and a
	// timeout); nil uses http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// EarlyExpiry refreshes this long before expiry (default 2m).
	EarlyExpiry time.Duration
	// Expiry, when set, receives the access-token expiry as a Unix timestamp.
	Expiry *prometheus.GaugeVec
}

// Source is an oauth2.TokenSource that persists rotated tokens.
type Source struct {
	cfg  Config
	conf *oauth2.Config

	mu      sync.Mutex
	tok     adpacer.OAuthToken
	loaded  bool
	revoked error
	// pending is a refreshed token the store failed to persist. The
	// provider has already rotated the refresh token, so the old one is
	// dead: pending is the only valid credential and is saved (never
	// refreshed again) before anything is handed out.
	pending *adpacer.OAuthToken
}

var _ oauth2.TokenSource = (*Source)(nil)

// New validates cfg.
func New(cfg Config) (*Source, error) {
	var problems []string
	if cfg.Name == "" {
		problems = append(problems, "Name is empty")
	}
	if cfg.ClientID == "" {
		problems = append(problems, "ClientID is empty")
	}
	if cfg.TokenURL == "" {
		problems = append(problems, "TokenURL is empty")
	}
	if cfg.RefreshToken == "" {
		problems = append(problems, "RefreshToken is empty (set the refresh_token_file of the connector)")
	}
	if cfg.Store == nil {
		problems = append(problems, "Store is nil")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("oauthx: invalid config %q: %v", cfg.Name, problems)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EarlyExpiry == 0 {
		cfg.EarlyExpiry = 2 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Source{
		cfg: cfg,
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
	}, nil
}

// Token implements oauth2.TokenSource. oauth2's interface has no context,
// so the refresh uses a bounded background context of its own.
func (s *Source) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.TokenContext(ctx)
}

// TokenContext returns a valid access token, refreshing and persisting when
// needed.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked != nil {
		return nil, s.revoked
	}
	if !s.loaded {
		stored, err := s.cfg.Store.LoadToken(ctx, s.cfg.Name)
		switch {
		case err == nil:
			s.tok = stored
		case errors.Is(err, store.ErrNotFound):
			s.tok = adpacer.OAuthToken{RefreshToken: s.cfg.RefreshToken}
		default:
			return nil, fmt.Errorf("oauth %s: load token: %w", s.cfg.Name, err)
		}
		s.loaded = true
	}
	if s.pending != nil {
		if err := s.cfg.Store.SaveToken(ctx, s.cfg.Name, *s.pending); err != nil {
			return nil, fmt.Errorf("oauth %s: persist refreshed token (retry): %w", s.cfg.Name, err)
		}
		s.adopt(*s.pending)
		s.pending = nil
	}
	now := s.cfg.Now()
	if s.tok.AccessToken != "" && now.Add(s.cfg.EarlyExpiry).Before(s.tok.Expiry) {
		return s.oauth2Token(), nil
	}
	fresh, err := s.refresh(ctx, s.tok.RefreshToken)
	if errors.Is(err, ErrTokenRevoked) && s.tok.RefreshToken != s.cfg.RefreshToken {
		// The stored (rotated) token is dead but the operator may have put a
		// new credential in the file: try it once before giving up.
		fresh, err = s.refresh(ctx, s.cfg.RefreshToken)
	}
	if err != nil {
		if errors.Is(err, ErrTokenRevoked) {
			s.revoked = err
		}
		return nil, err
	}
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = s.tok.RefreshToken
	}
	if err := s.cfg.Store.SaveToken(ctx, s.cfg.Name, fresh); err != nil {
		// Never hand out a token whose rotated refresh token is not durable,
		// but keep it: the provider has rotated, so refreshing again from
		// the old refresh token would get invalid_grant and need a person.
		s.pending = &fresh
		return nil, fmt.Errorf("oauth %s: persist refreshed token: %w", s.cfg.Name, err)
	}
	s.adopt(fresh)
	return s.oauth2Token(), nil
}

// adopt makes a persisted token current.
func (s *Source) adopt(t adpacer.OAuthToken) {
	s.tok = t
	if s.cfg.Expiry != nil && !t.Expiry.IsZero() {
		s.cfg.Expiry.WithLabelValues(s.cfg.Name).Set(float64(t.Expiry.Unix()))
	}
}

func (s *Source) refresh(ctx context.Context, refresh string) (adpacer.OAuthToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	t, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			if re.ErrorCode == "invalid_grant" {
				return adpacer.OAuthToken{}, adpacer.Terminal(fmt.Errorf("oauth %s: %w", s.cfg.Name, ErrTokenRevoked))
			}
			if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" {
				return adpacer.OAuthToken{}, adpacer.Terminal(fmt.Errorf("oauth %s: token endpoint refused the client (%s): check client_id and client_secret", s.cfg.Name, re.ErrorCode))
			}
			// Do not wrap re: its text includes the response body.
			return adpacer.OAuthToken{}, fmt.Errorf("oauth %s: token endpoint answered HTTP %d %s", s.cfg.Name, re.Response.StatusCode, re.ErrorCode)
		}
		return adpacer.OAuthToken{}, fmt.Errorf("oauth %s: refresh: %w", s.cfg.Name, err)
	}
	if t.AccessToken == "" {
		return adpacer.OAuthToken{}, fmt.Errorf("oauth %s: token endpoint returned no access_token", s.cfg.Name)
	}
	// Expiry is counted on this source's clock from expires_in: oauth2
	// stamps Expiry with the wall clock, which is wrong under an injected
	// clock and when the host clock is off.
	expiry := t.Expiry
	if t.ExpiresIn > 0 {
		expiry = s.cfg.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return adpacer.OAuthToken{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: expiry}, nil
}

// Invalidate drops the cached access token, so the next call refreshes: a
// platform that rejects a token before its stated expiry (Yandex error 53)
// gets one fresh token before the connector gives up.
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.tok.AccessToken = ""
	s.mu.Unlock()
}

func (s *Source) oauth2Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: s.tok.AccessToken, TokenType: "Bearer", Expiry: s.tok.Expiry}
}

// NewExpiryGauge builds the adpacer_oauth_token_expiry_timestamp_seconds
// gauge and registers it on reg (an existing registration is reused).
func NewExpiryGauge(reg prometheus.Registerer) (*prometheus.GaugeVec, error) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "adpacer_oauth_token_expiry_timestamp_seconds",
		Help: "Expiry of the current OAuth access token per connector instance, as a Unix timestamp.",
	}, []string{"source"})
	return promreg.Register(reg, g)
}
