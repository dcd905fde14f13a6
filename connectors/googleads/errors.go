package googleads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer/internal/httpx"
)

// ErrorKind is the class of a Google Ads error, decided by the errorCode
// inside the body rather than by the HTTP status (a public fixture shows a
// quota error with HTTP 400, api-notes §2.5).
type ErrorKind string

// Error kinds.
const (
	// KindQuota: the daily operations quota is spent (quotaError
	// RESOURCE_EXHAUSTED). Not terminal: hold until the window rolls.
	KindQuota ErrorKind = "quota"
	// KindRateLimited: too many requests in a short time
	// (RESOURCE_TEMPORARILY_EXHAUSTED); retried after retryDelay.
	KindRateLimited ErrorKind = "rate_limited"
	// KindTransient: INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED; retried.
	KindTransient ErrorKind = "transient"
	// KindAuth: UNAUTHENTICATED or PERMISSION_DENIED; terminal.
	KindAuth ErrorKind = "auth"
	// KindInvalid: the request or an operation is wrong; terminal for it.
	KindInvalid ErrorKind = "invalid"
)

// AdsError is one GoogleAdsError.
type AdsError struct {
	Category string // errorCode key, e.g. "quotaError"
	Code     string // errorCode value, e.g. "RESOURCE_EXHAUSTED"
	Message  string
	// OpIndex is the failed operation of a mutate, -1 when not about one.
	OpIndex    int
	RetryDelay time.Duration // details.quotaErrorDetails.retryDelay
}

func (e AdsError) String() string {
	s := e.Category + "=" + e.Code
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// APIError is an error response of the Google Ads API (a google.rpc.Status
// with GoogleAdsFailure details), or an error element of a searchStream.
type APIError struct {
	HTTPStatus int
	Status     string // google.rpc status name, e.g. PERMISSION_DENIED
	Message    string
	RequestID  string
	Errors     []AdsError
	// MidStream is set when the error arrived inside a 200 searchStream body.
	MidStream bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "google ads: HTTP %d %s", e.HTTPStatus, e.Status)
	if e.MidStream {
		b.WriteString(" (inside the stream)")
	}
	if len(e.Errors) > 0 {
		parts := make([]string, 0, len(e.Errors))
		for i, ae := range e.Errors {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("and %d more", len(e.Errors)-3))
				break
			}
			parts = append(parts, ae.String())
		}
		b.WriteString(": " + strings.Join(parts, "; "))
	} else if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id " + e.RequestID + "]")
	}
	return b.String()
}

// Has reports whether any error has the category and code.
func (e *APIError) Has(category, code string) bool {
	for _, ae := range e.Errors {
		if ae.Category == category && ae.Code == code {
			return true
		}
	}
	return false
}

// RetryDelay is the largest retryDelay among the errors (0 when none).
func (e *APIError) RetryDelay() time.Duration {
	var d time.Duration
	for _, ae := range e.Errors {
		if ae.RetryDelay > d {
			d = ae.RetryDelay
		}
	}
	return d
}

// Kind classifies by errorCode first and falls back to the status name.
func (e *APIError) Kind() ErrorKind {
	for _, ae := range e.Errors {
		switch ae.Category {
		case "quotaError":
			switch ae.Code {
			case "RESOURCE_TEMPORARILY_EXHAUSTED", "EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION":
				return KindRateLimited
			case "ACCESS_PROHIBITED", "PAYMENTS_PROFILE_ACTIVATION_RATE_LIMIT_EXCEEDED":
				return KindAuth
			default:
				return KindQuota
			}
		case "authenticationError", "authorizationError":
			return KindAuth
		case "internalError":
			return KindTransient
		}
	}
	if len(e.Errors) > 0 {
		return KindInvalid
	}
	// e.Status is a google.rpc.Code name. For the last group the request
	// itself is wrong (the code for a method this API version lacks is in
	// it too), so retrying cannot help.
	switch e.Status {
	case "RESOURCE_EXHAUSTED":
		return KindRateLimited
	case "UNAUTHENTICATED", "PERMISSION_DENIED":
		return KindAuth
	case "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED":
		return KindTransient
	case "INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNIMPLEMENTED":
		return KindInvalid
	}
	switch {
	case e.HTTPStatus == http.StatusTooManyRequests:
		return KindRateLimited
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return KindAuth
	case e.HTTPStatus >= 500:
		return KindTransient
	}
	return KindInvalid
}

// Terminal reports whether retrying the same request cannot help.
func (e *APIError) Terminal() bool {
	k := e.Kind()
	return k == KindAuth || k == KindInvalid
}

// wire shapes of google.rpc.Status and GoogleAdsFailure.
type statusJSON struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status"`
	Details []json.RawMessage `json:"details"`
}

type failureJSON struct {
	Type   string `json:"@type"`
	Errors []struct {
		ErrorCode map[string]string `json:"errorCode"`
		Message   string            `json:"message"`
		Location  struct {
			FieldPathElements []struct {
				FieldName string `json:"fieldName"`
				Index     *int   `json:"index"`
			} `json:"fieldPathElements"`
		} `json:"location"`
		Details struct {
			QuotaErrorDetails struct {
				RetryDelay string `json:"retryDelay"`
			} `json:"quotaErrorDetails"`
		} `json:"details"`
	} `json:"errors"`
	RequestID string `json:"requestId"`
}

// parseDuration reads a google.protobuf.Duration JSON string ("30s", "1.5s").
func parseDuration(s string) (time.Duration, bool) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 1e7 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// adsErrors extracts the GoogleAdsFailure errors of a status.
func (st statusJSON) adsErrors() ([]AdsError, string) {
	var out []AdsError
	rid := ""
	for _, raw := range st.Details {
		var f failureJSON
		if json.Unmarshal(raw, &f) != nil || !strings.HasSuffix(f.Type, "GoogleAdsFailure") {
			continue
		}
		if f.RequestID != "" {
			rid = f.RequestID
		}
		for _, e := range f.Errors {
			ae := AdsError{Message: e.Message, OpIndex: -1}
			keys := make([]string, 0, len(e.ErrorCode))
			for k := range e.ErrorCode {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(keys) > 0 {
				ae.Category, ae.Code = keys[0], e.ErrorCode[keys[0]]
			}
			for _, p := range e.Location.FieldPathElements {
				if p.FieldName == "operations" && p.Index != nil {
					ae.OpIndex = *p.Index
					break
				}
			}
			if d, ok := parseDuration(e.Details.QuotaErrorDetails.RetryDelay); ok {
				ae.RetryDelay = d
			}
			out = append(out, ae)
		}
	}
	return out, rid
}

func (st statusJSON) apiError(httpStatus int, headerRID string) *APIError {
	errs, rid := st.adsErrors()
	if rid == "" {
		rid = headerRID
	}
	return &APIError{HTTPStatus: httpStatus, Status: st.Status, Message: st.Message, RequestID: rid, Errors: errs}
}

// parseErrorBody turns a non-2xx body into an APIError; a body that is
// not a Status still yields an APIError carrying the HTTP status.
func parseErrorBody(status int, body []byte, requestID string) *APIError {
	var env struct {
		Error *statusJSON `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		return env.Error.apiError(status, requestID)
	}
	// searchStream errors can come array-wrapped: [{"error": {...}}].
	var arr []struct {
		Error *statusJSON `json:"error"`
	}
	if json.Unmarshal(body, &arr) == nil && len(arr) > 0 && arr[0].Error != nil {
		return arr[0].Error.apiError(status, requestID)
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &APIError{HTTPStatus: status, Status: http.StatusText(status), Message: "unparsable error body: " + msg, RequestID: requestID}
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 1 << 20

// Classifier returns the httpx Classify hook: it reads the error body
// (restoring it for the caller), retries rate limits after retryDelay,
// retries transient errors with jittered back-off, and never retries auth,
// invalid-argument or daily-quota errors whose retryDelay exceeds
// maxQuotaWait. Every request this connector sends is safe to repeat:
// searches read, and mutates set absolute values.
func Classifier(maxQuotaWait time.Duration) func(*http.Request, *http.Response, error) httpx.Decision {
	return func(req *http.Request, resp *http.Response, err error) httpx.Decision {
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return httpx.Decision{}
			}
			return httpx.Decision{Retry: true}
		}
		if resp.StatusCode < 300 {
			return httpx.Decision{}
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return httpx.Decision{Retry: true}
		}
		ae := parseErrorBody(resp.StatusCode, body, resp.Header.Get("request-id"))
		switch ae.Kind() {
		case KindRateLimited:
			return httpx.Decision{Retry: true, After: ae.RetryDelay()}
		case KindTransient:
			return httpx.Decision{Retry: true}
		case KindQuota:
			if d := ae.RetryDelay(); d > 0 && d <= maxQuotaWait {
				return httpx.Decision{Retry: true, After: d}
			}
		}
		return httpx.Decision{}
	}
}
