package googleadstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// AdsError is one GoogleAdsError of a GoogleAdsFailure: a one-key errorCode
// ({"<category>Error": "<ENUM>"}), a message and, for operation errors, the
// index of the failed operation.
type AdsError struct {
	Category string // e.g. "quotaError", "mutateError"
	Code     string // e.g. "RESOURCE_EXHAUSTED"
	Message  string
	// OpIndex is the operation index for mutate errors; -1 when the error
	// is not about an operation.
	OpIndex int
	// Field is an optional second location element ("update", "amount_micros").
	Field string
	// RetryDelay fills details.quotaErrorDetails.retryDelay when non-zero.
	RetryDelay time.Duration
	// Extra holds other details objects (e.g. budgetPerDayMinimumErrorDetails).
	Extra map[string]any
}

func reqErr(category, code, msg string) AdsError {
	return AdsError{Category: category, Code: code, Message: msg, OpIndex: -1}
}

func (e AdsError) wire() map[string]any {
	m := map[string]any{
		"errorCode": map[string]string{e.Category: e.Code},
		"message":   e.Message,
	}
	if e.OpIndex >= 0 {
		elems := []map[string]any{{"fieldName": "operations", "index": e.OpIndex}}
		if e.Field != "" {
			elems = append(elems, map[string]any{"fieldName": e.Field})
		}
		m["location"] = map[string]any{"fieldPathElements": elems}
	}
	details := map[string]any{}
	if e.RetryDelay > 0 {
		details["quotaErrorDetails"] = map[string]any{
			"rateScope":  "DEVELOPER",
			"rateName":   "Number of operations for basic access",
			"retryDelay": formatDuration(e.RetryDelay),
		}
	}
	for k, v := range e.Extra {
		details[k] = v
	}
	if len(details) > 0 {
		m["details"] = details
	}
	return m
}

// formatDuration renders a google.protobuf.Duration in its JSON form.
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// failure builds the google.rpc.Status details element holding a
// GoogleAdsFailure.
func (s *Server) failure(version string, errs []AdsError, requestID string) map[string]any {
	list := make([]map[string]any, len(errs))
	for i, e := range errs {
		list[i] = e.wire()
	}
	if version == "" {
		version = s.opts.Versions[len(s.opts.Versions)-1]
	}
	return map[string]any{
		"@type":     "type.googleapis.com/google.ads.googleads." + version + ".errors.GoogleAdsFailure",
		"errors":    list,
		"requestId": requestID,
	}
}

// statusName maps an HTTP status to the canonical google.rpc status name
// (the REST error body carries the HTTP status as "code").
func statusName(httpStatus int) string {
	switch httpStatus {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		return "INTERNAL"
	}
}

// statusBody renders {"error": google.rpc.Status}. grpcName overrides the
// status name derived from the HTTP status (a quota error with HTTP 400
// still says RESOURCE_EXHAUSTED).
func (s *Server) statusBody(version string, httpStatus int, grpcName, message string, errs []AdsError, requestID string) map[string]any {
	name := statusName(httpStatus)
	if grpcName != "" {
		name = grpcName
	}
	st := map[string]any{"code": httpStatus, "message": message, "status": name}
	if len(errs) > 0 {
		st["details"] = []any{s.failure(version, errs, requestID)}
	}
	return map[string]any{"error": st}
}

func (s *Server) writeError(w http.ResponseWriter, version string, httpStatus int, grpcName, message string, errs ...AdsError) {
	rid := s.nextRequestID()
	w.Header().Set("request-id", rid)
	writeJSON(w, httpStatus, s.statusBody(version, httpStatus, grpcName, message, errs, rid))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "googleadstest: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
