package vkads

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrUnauthorized: the API refused the access token twice in a row
	// (once more after a fresh token). Terminal.
	ErrUnauthorized = errors.New("vk ads: access token refused (HTTP 401)")
	// ErrForbidden: the token may not read or change this data (HTTP 403),
	// e.g. an agency's own token on a client's ad plans. Terminal.
	ErrForbidden = errors.New("vk ads: access denied (HTTP 403)")
	// ErrBadCredentials: the token endpoint refused client_id and
	// client_secret. Terminal.
	ErrBadCredentials = errors.New("vk ads: token endpoint refused client_id/client_secret")
	// ErrTokenLimit: the client already holds the 5 tokens VK allows per
	// client and user. Terminal until a person deletes unused tokens.
	ErrTokenLimit = errors.New("vk ads: token limit reached (VK allows 5 tokens per client and user)")
	// ErrRateLimited: a rate-limit window is spent and waiting for it is
	// longer than Config.MaxRateWait. Not terminal: the next cycle retries.
	ErrRateLimited = errors.New("vk ads: rate limit exhausted")
	// ErrMalformed: a response could not be decoded. Not terminal.
	ErrMalformed = errors.New("vk ads: malformed response")
	// ErrBadAmount: a money field held something other than a decimal
	// amount of rubles. Terminal: the same data fails the same way.
	ErrBadAmount = errors.New("vk ads: bad money amount")
)

// APIError is an error answer of the API: {"error":{"code","message"}}
// with its HTTP status. The token endpoint's RFC 6749 shape
// {"error":"code","error_description":".."} is decoded into it too.
type APIError struct {
	Endpoint   string // ad_plans, mass_action, statistics, token
	HTTPStatus int
	Code       string // e.g. ERR_WRONG_PARAMETER
	Message    string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Endpoint, e.HTTPStatus)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is maps statuses to the sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrForbidden:
		return e.HTTPStatus == http.StatusForbidden
	case ErrUnauthorized:
		return e.HTTPStatus == http.StatusUnauthorized
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusTooManyRequests
	}
	return false
}

// retryable reports whether the same request may succeed later: rate
// limits and server errors. Everything else (bad parameters, dates, ids,
// permissions) fails the same way again.
func (e *APIError) retryable() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || (e.HTTPStatus >= 500 && e.HTTPStatus != http.StatusNotImplemented)
}

// RateLimitError says which window is spent and when it opens again.
type RateLimitError struct {
	Window  string // rps, hourly, daily (or "" when the server did not say)
	RetryAt time.Time
}

func (e *RateLimitError) Error() string {
	w := e.Window
	if w == "" {
		w = "unknown"
	}
	return fmt.Sprintf("vk ads: %s rate limit exhausted until %s (waiting longer than max_rate_wait is left to the next cycle)", w, e.RetryAt.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// safeCode keeps an error code only when it looks like one: a body that
// echoes request data must not carry it into errors and logs.
var safeCode = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// decodeAPIError reads an error body in either shape. The message is kept
// for API answers (VK's texts name the bad parameter) but dropped for the
// token endpoint, whose descriptions may quote the submitted form.
func decodeAPIError(endpoint string, status int, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, HTTPStatus: status}
	var raw struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &raw) != nil || len(raw.Error) == 0 {
		return e
	}
	var obj struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var code string
	if json.Unmarshal(raw.Error, &obj) == nil && obj.Code != "" {
		code, e.Message = obj.Code, obj.Message
	} else if json.Unmarshal(raw.Error, &code) != nil {
		code = ""
	}
	if safeCode.MatchString(code) {
		e.Code = code
	}
	if endpoint == endpointToken {
		e.Message = ""
	}
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "..."
	}
	return e
}
