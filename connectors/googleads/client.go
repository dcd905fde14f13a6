// Package googleads is adpacer's Google Ads connector over the REST
// interface (api-notes §2): it pulls campaigns, hourly statistics in the
// account's time zone and ad approval status (connectors.AdSource), and
// writes campaign budgets, ad group CPC bids and campaign status
// (pacing.Actuator). Every query is built with the gaql subpackage; every
// call goes through internal/httpx (timeouts, token-bucket rate limit,
// jittered retries honouring retryDelay) and is counted against the daily
// operation allowance of the Cloud project's access level.
package googleads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/httpx"
)

// Defaults.
const (
	// DefaultVersion is the newest API version in the notes (v26, late 2026).
	DefaultVersion = "v26"
	// DefaultBaseURL is the production endpoint.
	DefaultBaseURL = "https://googleads.googleapis.com"
	// MaxOperationsPerRequest is Google's mutate limit per request
	// (TOO_MANY_MUTATE_OPERATIONS above it, api-notes §2.6).
	MaxOperationsPerRequest = 10_000
	// maxStreamBody bounds one searchStream body; Google caps responses at
	// 64 MB per page-equivalent, a stream of many batches may exceed it.
	maxStreamBody = 2 << 30
)

var versionRe = regexp.MustCompile(`^v[0-9]{1,3}$`)

// Options configure a Client. CustomerID and TokenSource are required.
type Options struct {
	// CustomerID of the advertiser account; "123-456-7890" is accepted.
	CustomerID string
	// LoginCustomerID is the manager (MCC) account the credentials reach
	// the customer through; sent as login-customer-id when set.
	LoginCustomerID string
	// DeveloperToken is sent only when set (it was sunset on 2026-09-09
	// and is ignored by current versions).
	DeveloperToken string
	// TokenSource supplies OAuth2 access tokens (internal/oauthx for the
	// refresh-token flow with persisted rotation).
	TokenSource oauth2.TokenSource
	// BaseURL defaults to DefaultBaseURL; tests point it at the fake.
	BaseURL string
	// Version defaults to DefaultVersion.
	Version string
	// AccessLevel sets the daily operation allowance (default basic);
	// ignored when Budget is set.
	AccessLevel AccessLevel
	// Budget is the shared operation budget of the Cloud project; nil
	// creates one from AccessLevel registered on Registerer.
	Budget *OperationBudget
	// MaxOperationsPerRequest defaults to (and may not exceed) 10,000.
	MaxOperationsPerRequest int
	// MaxQuotaWait is the longest retryDelay of a daily-quota error worth
	// waiting for inside one call (default 60s); longer ones fail the call.
	MaxQuotaWait time.Duration
	// HTTP configures the transport client. Name and Classify are filled
	// in (google_ads and Classifier); defaults: 60s timeout, 4 attempts,
	// 5 requests/s with burst 5.
	HTTP httpx.Options
	// Registerer receives the operations metrics (and httpx's when
	// HTTP.Registerer is nil).
	Registerer prometheus.Registerer
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Now is the clock for "today" and the budget window (default time.Now).
	Now func() time.Time
}

// Client talks to one customer account.
type Client struct {
	cid, login, devToken string
	base, version        string
	ts                   oauth2.TokenSource
	http                 *httpx.Client
	budget               *OperationBudget
	maxOps               int
	log                  *zap.Logger
	now                  func() time.Time
	alert                alertState
}

// New validates opts and builds a Client.
func New(opts Options) (*Client, error) {
	var problems []string
	cid, err := NormalizeCustomerID(opts.CustomerID)
	if err != nil {
		problems = append(problems, "CustomerID: "+err.Error())
	}
	login := ""
	if opts.LoginCustomerID != "" {
		if login, err = NormalizeCustomerID(opts.LoginCustomerID); err != nil {
			problems = append(problems, "LoginCustomerID: "+err.Error())
		}
	}
	if opts.TokenSource == nil {
		problems = append(problems, "TokenSource is nil: pass an oauthx.Source (refresh-token flow)")
	}
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	if !versionRe.MatchString(opts.Version) {
		problems = append(problems, fmt.Sprintf("Version %q: want vNN such as %s", opts.Version, DefaultVersion))
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if !strings.HasPrefix(opts.BaseURL, "https://") && !strings.HasPrefix(opts.BaseURL, "http://") {
		problems = append(problems, fmt.Sprintf("BaseURL %q: want an http(s) URL", opts.BaseURL))
	}
	if opts.MaxOperationsPerRequest == 0 {
		opts.MaxOperationsPerRequest = MaxOperationsPerRequest
	}
	if opts.MaxOperationsPerRequest < 1 || opts.MaxOperationsPerRequest > MaxOperationsPerRequest {
		problems = append(problems, fmt.Sprintf("MaxOperationsPerRequest %d: want 1..%d", opts.MaxOperationsPerRequest, MaxOperationsPerRequest))
	}
	if opts.AccessLevel == "" {
		opts.AccessLevel = AccessBasic
	}
	limit, err := opts.AccessLevel.DailyOperations()
	if err != nil && opts.Budget == nil {
		problems = append(problems, "AccessLevel: "+err.Error())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("google ads: invalid options: %s", strings.Join(problems, "; "))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.MaxQuotaWait == 0 {
		opts.MaxQuotaWait = time.Minute
	}
	budget := opts.Budget
	if budget == nil {
		if budget, err = NewOperationBudget(limit, opts.Now, opts.Registerer); err != nil {
			return nil, err
		}
	}
	h := opts.HTTP
	h.Name = string(adpacer.GoogleAds)
	if h.Classify == nil {
		h.Classify = Classifier(opts.MaxQuotaWait)
	}
	if h.Timeout == 0 {
		h.Timeout = 60 * time.Second
	}
	if h.RatePerSecond == 0 {
		h.RatePerSecond, h.Burst = 5, 5
	}
	if h.Registerer == nil && h.Metrics == nil {
		h.Registerer = opts.Registerer
	}
	if h.Logger == nil {
		h.Logger = opts.Logger
	}
	hc, err := httpx.New(h)
	if err != nil {
		return nil, fmt.Errorf("google ads: %w", err)
	}
	return &Client{
		cid: cid, login: login, devToken: opts.DeveloperToken,
		base: strings.TrimRight(opts.BaseURL, "/"), version: opts.Version,
		ts: opts.TokenSource, http: hc, budget: budget,
		maxOps: opts.MaxOperationsPerRequest, log: opts.Logger, now: opts.Now,
	}, nil
}

// CustomerID is the normalised customer id.
func (c *Client) CustomerID() string { return c.cid }

// Budget is the operation budget the client charges.
func (c *Client) Budget() *OperationBudget { return c.budget }

// Platform implements connectors.AdSource and pacing.Actuator.
func (c *Client) Platform() adpacer.Platform { return adpacer.GoogleAds }

func (c *Client) url(method string) string {
	return c.base + "/" + c.version + "/customers/" + c.cid + "/" + method
}

// post sends a JSON body with auth headers. On a 401 about the access
// token it asks the token source once more and retries only if the source
// returned a different token, so a refreshed token is used without ever
// looping on a dead grant.
func (c *Client) post(ctx context.Context, method string, body []byte) (*http.Response, error) {
	var lastTok string
	for attempt := 0; ; attempt++ {
		tok, err := c.token()
		if err != nil {
			return nil, fmt.Errorf("google ads %s: access token: %w", method, err)
		}
		req, err := httpx.NewJSONRequest(ctx, http.MethodPost, c.url(method), body)
		if err != nil {
			return nil, fmt.Errorf("google ads %s: build request: %w", method, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if c.devToken != "" {
			req.Header.Set("developer-token", c.devToken)
		}
		if c.login != "" {
			req.Header.Set("login-customer-id", c.login)
		}
		resp, err := c.http.Do(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("google ads %s: %w", method, err)
		}
		if resp.StatusCode < 300 {
			c.clearAuthAlert()
		}
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp, nil
		}
		raw, rerr := httpx.ReadBody(resp, maxErrorBody)
		if rerr != nil {
			return nil, fmt.Errorf("google ads %s: HTTP 401: %w", method, rerr)
		}
		ae := parseErrorBody(resp.StatusCode, raw, resp.Header.Get("request-id"))
		if !accessTokenProblem(ae) {
			c.raiseAuth(ae)
			return nil, adpacer.Terminal(fmt.Errorf("google ads %s: %w", method, ae))
		}
		lastTok = tok.AccessToken
		if inv, ok := c.ts.(Invalidator); ok {
			inv.Invalidate()
		}
		fresh, err := c.token()
		if err != nil {
			return nil, fmt.Errorf("google ads %s: access token after 401: %w", method, err)
		}
		if fresh.AccessToken == lastTok {
			err := fmt.Errorf("google ads %s: access token rejected and the token source returned the same token: %w", method, ae)
			if ae.Has("authenticationError", "OAUTH_TOKEN_EXPIRED") {
				// The source refreshes when its own clock says the token
				// expired; a revoked grant then surfaces as invalid_grant.
				return nil, err
			}
			c.raiseAuth(ae)
			return nil, adpacer.Terminal(err)
		}
	}
}

// Invalidator is implemented by token sources that can drop a cached access
// token; after a 401 the client invalidates and asks once more, so an access
// token revoked before its expiry is replaced at once.
type Invalidator interface{ Invalidate() }

// accessTokenProblem reports whether a 401 is about the OAuth access token
// (worth one fresh token) rather than, say, the developer token.
func accessTokenProblem(ae *APIError) bool {
	if len(ae.Errors) == 0 {
		return true
	}
	for _, e := range ae.Errors {
		if e.Category == "authenticationError" && strings.HasPrefix(e.Code, "OAUTH_TOKEN") {
			return true
		}
	}
	return false
}

func drainClose(resp *http.Response) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return resp.Body.Close()
}

// errorFrom reads a non-2xx response into an error, terminal when
// retrying cannot help; a terminal auth error raises the account's alert.
func (c *Client) errorFrom(method string, resp *http.Response) error {
	body, err := httpx.ReadBody(resp, maxErrorBody)
	if err != nil {
		return fmt.Errorf("google ads %s: HTTP %d: %w", method, resp.StatusCode, err)
	}
	ae := parseErrorBody(resp.StatusCode, body, resp.Header.Get("request-id"))
	if ae.Terminal() {
		if ae.Kind() == KindAuth {
			c.raiseAuth(ae)
		}
		return adpacer.Terminal(fmt.Errorf("google ads %s: %w", method, ae))
	}
	return fmt.Errorf("google ads %s: %w", method, ae)
}

// SearchStream runs a GAQL query with googleAds:searchStream (one
// operation, any number of rows) and calls fn for each row in order. A
// mid-stream error returns an *APIError after some rows were delivered:
// callers must discard what they collected.
func (c *Client) SearchStream(ctx context.Context, query string, fn func(row json.RawMessage) error) error {
	const method = "googleAds:searchStream"
	if err := c.stopped(); err != nil {
		return fmt.Errorf("google ads %s: %w", method, err)
	}
	if err := c.budget.Reserve(OpSearch, 1); err != nil {
		return fmt.Errorf("google ads %s: %w", method, err)
	}
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return fmt.Errorf("google ads %s: encode: %w", method, err)
	}
	resp, err := c.post(ctx, method, body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return c.errorFrom(method, resp)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxStreamBody))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("google ads %s: malformed stream: %w", method, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("google ads %s: malformed stream: want a JSON array of batches, got %v", method, tok)
	}
	for dec.More() {
		var batch struct {
			Results []json.RawMessage `json:"results"`
			Error   *statusJSON       `json:"error"`
		}
		if err := dec.Decode(&batch); err != nil {
			return fmt.Errorf("google ads %s: malformed stream batch: %w", method, err)
		}
		if batch.Error != nil {
			ae := batch.Error.apiError(batch.Error.Code, resp.Header.Get("request-id"))
			ae.MidStream = true
			if ae.Terminal() {
				if ae.Kind() == KindAuth {
					c.raiseAuth(ae)
				}
				return adpacer.Terminal(fmt.Errorf("google ads %s: %w", method, ae))
			}
			return fmt.Errorf("google ads %s: %w", method, ae)
		}
		for _, r := range batch.Results {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("google ads %s: malformed stream end: %w", method, err)
	}
	return nil
}

// Search runs a GAQL query with googleAds:search, following nextPageToken
// with the identical query (pages are fixed at 10,000 rows; pageSize is
// never sent). Only the first page counts as an operation.
func (c *Client) Search(ctx context.Context, query string, fn func(row json.RawMessage) error) error {
	const method = "googleAds:search"
	if err := c.stopped(); err != nil {
		return fmt.Errorf("google ads %s: %w", method, err)
	}
	if err := c.budget.Reserve(OpSearch, 1); err != nil {
		return fmt.Errorf("google ads %s: %w", method, err)
	}
	token := ""
	for page := 0; ; page++ {
		req := map[string]string{"query": query}
		if token != "" {
			req["pageToken"] = token
		}
		body, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("google ads %s: encode: %w", method, err)
		}
		resp, err := c.post(ctx, method, body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return c.errorFrom(method, resp)
		}
		var out struct {
			Results       []json.RawMessage `json:"results"`
			NextPageToken string            `json:"nextPageToken"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 128<<20)).Decode(&out)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("google ads %s: malformed page %d: %w", method, page+1, err)
		}
		for _, r := range out.Results {
			if err := fn(r); err != nil {
				return err
			}
		}
		if out.NextPageToken == "" {
			return nil
		}
		if out.NextPageToken == token {
			return fmt.Errorf("google ads %s: the server repeated page token on page %d", method, page+1)
		}
		token = out.NextPageToken
	}
}

// Operation is one mutate operation (update with a field mask, or remove).
type Operation struct {
	UpdateMask string         `json:"updateMask,omitempty"`
	Update     map[string]any `json:"update,omitempty"`
	Remove     string         `json:"remove,omitempty"`
}

// MutateResult is the outcome of one mutate request with partialFailure.
type MutateResult struct {
	// ResourceNames[i] is the result of operation i ("" when it failed or
	// under validateOnly).
	ResourceNames []string
	// Failures maps an operation index to its errors.
	Failures map[int][]AdsError
}

// Mutate sends up to MaxOperationsPerRequest operations to
// {service}:mutate with partialFailure (valid operations apply, failures
// are reported per operation) and validateOnly for dry runs. A request-level
// failure returns an error (terminal when retrying cannot help).
//
// Requests are never atomic (Google's default): the operations of one
// request are independent campaigns' corrections, and one budget locked by
// policy must not hold back the other 9,999.
func (c *Client) Mutate(ctx context.Context, service string, ops []Operation, validateOnly bool) (MutateResult, error) {
	method := service + ":mutate"
	switch {
	case len(ops) == 0:
		return MutateResult{}, nil
	case len(ops) > c.maxOps:
		return MutateResult{}, fmt.Errorf("google ads %s: %d operations exceed the per-request limit %d; split the batch", method, len(ops), c.maxOps)
	}
	kind := OpMutate
	if validateOnly {
		kind = OpValidate
	}
	if err := c.stopped(); err != nil {
		return MutateResult{}, fmt.Errorf("google ads %s: %w", method, err)
	}
	if err := c.budget.Reserve(kind, len(ops)); err != nil {
		return MutateResult{}, fmt.Errorf("google ads %s: %w", method, err)
	}
	body, err := json.Marshal(struct {
		Operations          []Operation `json:"operations"`
		PartialFailure      bool        `json:"partialFailure"`
		ValidateOnly        bool        `json:"validateOnly"`
		ResponseContentType string      `json:"responseContentType"`
	}{ops, true, validateOnly, "RESOURCE_NAME_ONLY"})
	if err != nil {
		return MutateResult{}, fmt.Errorf("google ads %s: encode: %w", method, err)
	}
	resp, err := c.post(ctx, method, body)
	if err != nil {
		return MutateResult{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return MutateResult{}, c.errorFrom(method, resp)
	}
	raw, err := httpx.ReadBody(resp, 64<<20)
	if err != nil {
		return MutateResult{}, fmt.Errorf("google ads %s: %w", method, err)
	}
	var out struct {
		Results []struct {
			ResourceName string `json:"resourceName"`
		} `json:"results"`
		PartialFailureError *statusJSON `json:"partialFailureError"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return MutateResult{}, fmt.Errorf("google ads %s: malformed response: %w", method, err)
	}
	res := MutateResult{ResourceNames: make([]string, len(ops)), Failures: map[int][]AdsError{}}
	if !validateOnly && len(out.Results) != len(ops) {
		return res, fmt.Errorf("google ads %s: %d results for %d operations", method, len(out.Results), len(ops))
	}
	for i, r := range out.Results {
		if i < len(ops) {
			res.ResourceNames[i] = r.ResourceName
		}
	}
	if out.PartialFailureError != nil {
		errs, _ := out.PartialFailureError.adsErrors()
		for _, e := range errs {
			if e.OpIndex < 0 || e.OpIndex >= len(ops) {
				return res, fmt.Errorf("google ads %s: partial failure outside the operations: %s", method, e)
			}
			res.Failures[e.OpIndex] = append(res.Failures[e.OpIndex], e)
		}
		if len(errs) == 0 {
			return res, fmt.Errorf("google ads %s: partialFailureError without GoogleAdsFailure details: %s", method, out.PartialFailureError.Message)
		}
	}
	if !validateOnly {
		// A failed operation's result is an empty object; an empty result
		// with no matching error would hide a lost write.
		for i, name := range res.ResourceNames {
			if name == "" && len(res.Failures[i]) == 0 {
				res.Failures[i] = []AdsError{{Category: "adpacer", Code: "EMPTY_RESULT", Message: "empty result without an error", OpIndex: i}}
			}
		}
	}
	return res, nil
}

// errBadRow wraps a response row that does not decode.
var errBadRow = errors.New("google ads: malformed row")

func decodeRow(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v: %.200s", errBadRow, err, string(raw))
	}
	return nil
}
