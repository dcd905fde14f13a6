package yandexdirect

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrTokenRevoked: error 53, the OAuth token is invalid or revoked. A
	// person must re-authorise; the error is terminal and raises an alert.
	ErrTokenRevoked = errors.New("yandexdirect: OAuth token invalid or revoked (error 53)")
	// ErrNoAccess: errors 54, 58, 513, 3000, 3001 or a bad Client-Login
	// (8800 at request level): retrying cannot help, a person must act.
	ErrNoAccess = errors.New("yandexdirect: no API access for this login")
	// ErrPointsExhausted: the points allowance stayed exhausted for longer
	// than Config.MaxPointsWait. Not terminal: the next cycle may succeed.
	ErrPointsExhausted = errors.New("yandexdirect: points allowance exhausted")
	// ErrBudgetEditLimit: the campaign's daily budget was already changed
	// three times this Moscow day (error 8305); terminal until tomorrow.
	ErrBudgetEditLimit = errors.New("yandexdirect: daily budget already changed 3 times today (Moscow day)")
	// ErrMalformed: the response could not be decoded.
	ErrMalformed = errors.New("yandexdirect: malformed response")
)

// APIError is a request-level error envelope
// {"error":{"request_id","error_code","error_string","error_detail"}}.
type APIError struct {
	Service, Method string
	HTTPStatus      int
	Code            int
	String          string
	Detail          string
	RequestID       string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("yandexdirect: %s.%s: error %d %s: %s (request %s, HTTP %d)",
		e.Service, e.Method, e.Code, e.String, e.Detail, e.RequestID, e.HTTPStatus)
}

// Is lets errors.Is(err, ErrTokenRevoked) and friends match by code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrTokenRevoked:
		return e.Code == 53
	case ErrNoAccess:
		return classify(e.Code) == classNoAccess
	}
	return false
}

// ItemError is one failed item of a batch method (an ActionResult with
// Errors).
type ItemError struct {
	Code    int
	Message string
	Details string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("yandexdirect: item error %d %s: %s", e.Code, e.Message, e.Details)
}

// Is maps 8305 to ErrBudgetEditLimit.
func (e *ItemError) Is(target error) bool {
	return target == ErrBudgetEditLimit && e.Code == 8305
}

// PointsError is returned when points did not accrue in time; RetryAt is
// the estimated next accrual.
type PointsError struct {
	RetryAt time.Time
}

func (e *PointsError) Error() string {
	return fmt.Sprintf("yandexdirect: points allowance exhausted; next accrual expected at %s", e.RetryAt.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrPointsExhausted) true.
func (e *PointsError) Unwrap() error { return ErrPointsExhausted }

type errClass int

const (
	classInvalid     errClass = iota // do not resend the same payload
	classTransient                   // retry with jittered exponential back-off
	classConcurrency                 // 506: short jittered back-off
	classPoints                      // 152: wait for the next accrual
	classAuth                        // 53: terminal, alert
	classNoAccess                    // needs a person: terminal, alert
	classRateLimited                 // 56: back off
)

func (c errClass) String() string {
	switch c {
	case classTransient:
		return "transient"
	case classConcurrency:
		return "concurrency"
	case classPoints:
		return "points"
	case classAuth:
		return "auth"
	case classNoAccess:
		return "no_access"
	case classRateLimited:
		return "rate_limited"
	}
	return "invalid"
}

// classify implements the retry policy of api-notes §1.4/§1.5.
func classify(code int) errClass {
	switch {
	case code == 152:
		return classPoints
	case code == 506:
		return classConcurrency
	case code == 52 || code == 1000 || code == 1001 || code == 1002:
		return classTransient
	case code == 56:
		return classRateLimited
	case code == 53:
		return classAuth
	case code == 54 || code == 58 || code == 513 || code == 3000 || code == 3001 || code == 8800:
		return classNoAccess
	}
	return classInvalid
}

// safeToResendWrite reports whether a failed write certainly was not
// applied, so it may be resent: 506, 152 and 52 are refusals before any
// processing; 1000/1001 say the server was unavailable. 1002 "operation
// error" may have happened half way, so a write is not resent blindly
// (the next cycle re-reads and re-plans).
func safeToResendWrite(code int) bool {
	switch code {
	case 506, 152, 52, 1000, 1001, 56:
		return true
	}
	return false
}
