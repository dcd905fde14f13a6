package googleads

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/oauthx"
)

// alertState holds what a person must act on for this account. Auth alerts
// from the API are level-based: the next successful call clears them. A dead
// OAuth grant is latched instead: no later call reaches the token endpoint
// or the API, because a revoked refresh token never comes back and the
// credential is only read at start-up (api-notes §2.2: "do not retry; alert
// a human").
type alertState struct {
	mu     sync.Mutex
	alerts map[string]adpacer.Alert
	dead   error
}

// Alerts returns the conditions a person must act on (a revoked or expired
// refresh token, a refused OAuth client, lost access to the account), keyed
// "google_ads:auth:<customer id>" so one account has one card whatever the
// cause. It has the same contract as the Yandex Direct client's Alerts, so
// the daemon raises it on the board next to the cycle's alerts.
func (c *Client) Alerts() []adpacer.Alert {
	c.alert.mu.Lock()
	defer c.alert.mu.Unlock()
	out := make([]adpacer.Alert, 0, len(c.alert.alerts))
	for _, a := range c.alert.alerts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (c *Client) alertKey() string { return "google_ads:auth:" + c.cid }

// dashedCID is the customer id as the Google Ads UI shows it (123-456-7890),
// so the person reading the card finds the account.
func (c *Client) dashedCID() string {
	if len(c.cid) != 10 {
		return c.cid
	}
	return c.cid[:3] + "-" + c.cid[3:6] + "-" + c.cid[6:]
}

func (c *Client) setAlert(a adpacer.Alert) {
	c.alert.mu.Lock()
	defer c.alert.mu.Unlock()
	if c.alert.alerts == nil {
		c.alert.alerts = map[string]adpacer.Alert{}
	}
	c.alert.alerts[a.Key] = a
}

// clearAuthAlert drops the API auth alert after a successful response. A
// latched dead grant is never cleared: no call succeeds after it.
func (c *Client) clearAuthAlert() {
	c.alert.mu.Lock()
	defer c.alert.mu.Unlock()
	if c.alert.dead == nil && len(c.alert.alerts) > 0 {
		c.alert.alerts = nil
	}
}

// stopped returns the latched dead-grant error, checked before any
// operation is reserved so a stopped client neither calls out nor spends
// the shared daily allowance.
func (c *Client) stopped() error {
	c.alert.mu.Lock()
	defer c.alert.mu.Unlock()
	return c.alert.dead
}

// token asks the source for an access token. A failure that a person must
// fix (invalid_grant, a refused OAuth client) stops the client and raises
// the alert; any other failure (the token endpoint unreachable) is returned
// as is and retried on the next cycle.
func (c *Client) token() (*oauth2.Token, error) {
	if err := c.stopped(); err != nil {
		return nil, err
	}
	tok, err := c.ts.Token()
	if err == nil {
		return tok, nil
	}
	fingerprint, dead := deadGrant(err)
	if dead == nil {
		return nil, err
	}
	err = adpacer.Terminal(fmt.Errorf("google ads %s: stopped until restarted with a new credential: %w", c.cid, dead))
	a := adpacer.Alert{
		Key: c.alertKey(), Severity: adpacer.SeverityCritical, Kind: "connector_auth", Fingerprint: fingerprint,
	}
	if fingerprint == "invalid_grant" {
		a.Title = "Google Ads refresh token revoked for customer " + c.dashedCID()
		a.Detail = "Google's token endpoint answered invalid_grant: the refresh token adpacer uses for customer " + c.dashedCID() +
			" was revoked or expired (access removed in the Google account's security settings, a password change, or an OAuth app " +
			"still in Testing, whose refresh tokens expire after 7 days). Pulls and writes for this account are stopped; adpacer does " +
			"not retry a dead grant.\n\nWhat to do: run the OAuth consent again as a user with access to customer " + c.dashedCID() +
			" (scope https://www.googleapis.com/auth/adwords), put the new refresh token in this connector's credential file and restart adpacer."
	} else {
		a.Title = "Google Ads OAuth client refused for customer " + c.dashedCID()
		a.Detail = "Google's token endpoint refused adpacer's OAuth client (" + fingerprint + ") while refreshing the token for customer " +
			c.dashedCID() + ". Pulls and writes for this account are stopped.\n\nWhat to do: check client_id and client_secret of this " +
			"connector against the Google Cloud project's OAuth client, fix the credential file and restart adpacer."
	}
	c.alert.mu.Lock()
	if c.alert.dead == nil {
		c.alert.dead = err
	}
	c.alert.mu.Unlock()
	c.setAlert(a)
	c.log.Error("google ads: OAuth grant unusable; connector stopped until restart", zap.String("customer", c.cid), zap.String("reason", fingerprint))
	return nil, err
}

// deadGrant reports whether a token-source error needs a new credential,
// with a fingerprint naming why. oauthx already marks these terminal; a
// plain golang.org/x/oauth2 source returns the token endpoint's
// *oauth2.RetrieveError, which is recognised here so the contract does not
// depend on the source. The RetrieveError itself is not wrapped: its text
// carries the endpoint's response body.
func deadGrant(err error) (fingerprint string, dead error) {
	if errors.Is(err, oauthx.ErrTokenRevoked) {
		return "invalid_grant", err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_grant":
			return "invalid_grant", oauthx.ErrTokenRevoked
		case "invalid_client", "unauthorized_client":
			return re.ErrorCode, fmt.Errorf("token endpoint refused the OAuth client (%s): check client_id and client_secret", re.ErrorCode)
		}
		return "", nil
	}
	if adpacer.IsTerminal(err) {
		// oauthx's refused-client error; its text names the fix.
		return "oauth_client_refused", err
	}
	return "", nil
}

// raiseAuth turns a terminal auth error of the API (a revoked access token
// the source cannot replace, USER_PERMISSION_DENIED, a refused developer
// token) into the account's alert; it clears after the next success, since
// an administrator may restore access without a restart.
func (c *Client) raiseAuth(ae *APIError) {
	codes := make([]string, 0, len(ae.Errors))
	for _, e := range ae.Errors {
		codes = append(codes, e.Category+"="+e.Code)
	}
	fp := strings.Join(codes, ",")
	if fp == "" {
		fp = ae.Status
	}
	via := ""
	if c.login != "" {
		via = " through manager account " + c.login
	}
	c.setAlert(adpacer.Alert{
		Key: c.alertKey(), Severity: adpacer.SeverityCritical, Kind: "connector_auth", Fingerprint: fp,
		Title: "Google Ads access lost for customer " + c.dashedCID(),
		Detail: fmt.Sprintf("The Google Ads API refused adpacer's credentials for customer %s (HTTP %d %s: %s). Retrying cannot fix it; "+
			"pulls and writes for this account fail until access is restored.\n\nWhat to do: check that the OAuth user still has access to "+
			"customer %s%s, that login-customer-id is configured when the account is reached through a manager, and that the developer "+
			"token, if configured, is approved. This alert clears after the next successful call.",
			c.dashedCID(), ae.HTTPStatus, ae.Status, fp, c.dashedCID(), via),
	})
}
