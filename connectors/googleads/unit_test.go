package googleads

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/adpacer/adpacer"
)

func TestNormalizeCustomerID(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"123-456-7890", "1234567890", ""},
		{"1234567890", "1234567890", ""},
		{" customers/1234567890 ", "1234567890", ""},
		{"123-456-789", "", "want 10 digits"},
		{"12345678901", "", "want 10 digits"},
		{"123-456-789O", "", "want 10 digits"},
		{"", "", "want 10 digits"},
	}
	for _, tt := range tests {
		got, err := NormalizeCustomerID(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("NormalizeCustomerID(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestHourSpan(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	utc := func(s string) time.Time { x, _ := time.Parse(time.RFC3339, s); return x }
	tests := []struct {
		zone, date string
		hour       int
		start, end string
		ok         bool
	}{
		{"Europe/Moscow", "2026-11-09", 13, "2026-11-09T10:00:00Z", "2026-11-09T11:00:00Z", true},
		{"Asia/Kamchatka", "2026-12-31", 23, "2026-12-31T11:00:00Z", "2026-12-31T12:00:00Z", true},
		{"Europe/Kaliningrad", "2026-03-01", 0, "2026-02-28T22:00:00Z", "2026-02-28T23:00:00Z", true},
		// New York spring-forward: 02:00 does not exist; 01:00 and 03:00 are adjacent.
		{"America/New_York", "2026-03-08", 1, "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", true},
		{"America/New_York", "2026-03-08", 2, "", "", false},
		{"America/New_York", "2026-03-08", 3, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z", true},
		// Fall-back: 01:00 happens twice; Google reports it once, spanning two hours.
		{"America/New_York", "2026-11-01", 1, "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", true},
		{"America/New_York", "2026-11-01", 2, "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z", true},
		{"Europe/London", "2026-10-25", 1, "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", true},
		{"Europe/London", "2026-03-29", 1, "", "", false},
	}
	for _, tt := range tests {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		start, end, ok := hourSpan(loc, day(tt.date), tt.hour)
		if ok != tt.ok || (ok && (!start.Equal(utc(tt.start)) || !end.Equal(utc(tt.end)))) {
			t.Errorf("%s %s %02d:00 = [%s, %s) %v; want [%s, %s) %v", tt.zone, tt.date, tt.hour, start, end, ok, tt.start, tt.end, tt.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	body := func(status int, st string, code string, delay string) string {
		details := ""
		if code != "" {
			cat, val, _ := strings.Cut(code, "=")
			extra := ""
			if delay != "" {
				extra = `,"details":{"quotaErrorDetails":{"retryDelay":"` + delay + `"}}`
			}
			details = `,"details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{"errorCode":{"` + cat + `":"` + val + `"},"message":"m"` + extra + `}],"requestId":"r1"}]`
		}
		return `{"error":{"code":` + strconv.Itoa(status) + `,"message":"msg","status":"` + st + `"` + details + `}}`
	}
	tests := []struct {
		name     string
		status   int
		body     string
		kind     ErrorKind
		terminal bool
		retry    bool
		after    time.Duration
	}{
		{"daily quota 429", 429, body(429, "RESOURCE_EXHAUSTED", "quotaError=RESOURCE_EXHAUSTED", "86400s"), KindQuota, false, false, 0},
		{"daily quota as HTTP 400", 400, body(400, "RESOURCE_EXHAUSTED", "quotaError=RESOURCE_EXHAUSTED", ""), KindQuota, false, false, 0},
		{"short quota wait honoured", 429, body(429, "RESOURCE_EXHAUSTED", "quotaError=RESOURCE_EXHAUSTED", "30s"), KindQuota, false, true, 30 * time.Second},
		{"burst", 429, body(429, "RESOURCE_EXHAUSTED", "quotaError=RESOURCE_TEMPORARILY_EXHAUSTED", "1.5s"), KindRateLimited, false, true, 1500 * time.Millisecond},
		{"internal", 500, body(500, "INTERNAL", "internalError=INTERNAL_ERROR", ""), KindTransient, false, true, 0},
		{"unavailable without details", 503, body(503, "UNAVAILABLE", "", ""), KindTransient, false, true, 0},
		{"deadline", 504, body(504, "DEADLINE_EXCEEDED", "", ""), KindTransient, false, true, 0},
		{"unauthenticated", 401, body(401, "UNAUTHENTICATED", "authenticationError=OAUTH_TOKEN_EXPIRED", ""), KindAuth, true, false, 0},
		{"permission", 403, body(403, "PERMISSION_DENIED", "authorizationError=USER_PERMISSION_DENIED", ""), KindAuth, true, false, 0},
		{"cloud project not approved", 403, body(403, "PERMISSION_DENIED", "authorizationError=CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION", ""), KindAuth, true, false, 0},
		{"invalid argument", 400, body(400, "INVALID_ARGUMENT", "queryError=BAD_FIELD_NAME", ""), KindInvalid, true, false, 0},
		{"html 502", 502, "<html>bad gateway</html>", KindTransient, false, true, 0},
	}
	classify := Classifier(time.Minute)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := parseErrorBody(tt.status, []byte(tt.body), "hdr")
			if ae.Kind() != tt.kind || ae.Terminal() != tt.terminal {
				t.Fatalf("kind %s terminal %v, want %s %v (%v)", ae.Kind(), ae.Terminal(), tt.kind, tt.terminal, ae)
			}
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			d := classify(&http.Request{Method: http.MethodPost}, resp, nil)
			if d.Retry != tt.retry || d.After != tt.after {
				t.Fatalf("decision %+v, want retry %v after %s", d, tt.retry, tt.after)
			}
			rest, _ := io.ReadAll(resp.Body)
			if !bytes.Equal(rest, []byte(tt.body)) {
				t.Fatal("Classify did not restore the body")
			}
		})
	}
	arr := parseErrorBody(403, []byte(`[{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}]`), "")
	if arr.Kind() != KindAuth {
		t.Fatalf("array-wrapped error: %v", arr)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Options{CustomerID: "12-34", LoginCustomerID: "x", Version: "26", MaxOperationsPerRequest: 20_000, AccessLevel: "gold", BaseURL: "ftp://x"})
	for _, want := range []string{"CustomerID", "LoginCustomerID", "TokenSource", "Version", "MaxOperationsPerRequest", "AccessLevel", "BaseURL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	c, err := New(Options{CustomerID: "123-456-7890", LoginCustomerID: "111-222-3333", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}), AccessLevel: AccessExplorer})
	if err != nil || c.CustomerID() != "1234567890" || c.login != "1112223333" || c.version != DefaultVersion || c.Budget().Remaining() != 2880 || c.Platform() != adpacer.GoogleAds {
		t.Fatalf("defaults: %v %+v", err, c)
	}
}

func TestAccessLevels(t *testing.T) {
	for l, want := range map[AccessLevel]int{AccessExplorer: 2880, AccessBasic: 15000, AccessTest: 15000, AccessStandard: 0} {
		if got, err := l.DailyOperations(); err != nil || got != want {
			t.Errorf("%s: %d %v", l, got, err)
		}
	}
}

func TestModeration(t *testing.T) {
	tests := []struct {
		approval, review string
		want             adpacer.ModerationStatus
	}{
		{"APPROVED", "REVIEWED", adpacer.ModerationAccepted},
		{"APPROVED_LIMITED", "REVIEWED", adpacer.ModerationAccepted},
		{"AREA_OF_INTEREST_ONLY", "REVIEWED", adpacer.ModerationAccepted},
		{"DISAPPROVED", "REVIEWED", adpacer.ModerationRejected},
		{"DISAPPROVED", "UNDER_APPEAL", adpacer.ModerationRejected},
		{"APPROVED", "REVIEW_IN_PROGRESS", adpacer.ModerationPending},
		{"UNKNOWN", "REVIEW_IN_PROGRESS", adpacer.ModerationPending},
		{"", "ELIGIBLE_MAY_SERVE", adpacer.ModerationPending},
		{"SOMETHING_NEW", "REVIEWED", adpacer.ModerationPending},
	}
	for _, tt := range tests {
		if got := moderation(tt.approval, tt.review); got != tt.want {
			t.Errorf("moderation(%s, %s) = %s, want %s", tt.approval, tt.review, got, tt.want)
		}
	}
}

func TestMinorUnit(t *testing.T) {
	if MinorUnit("RUB") != 10_000 || MinorUnit("usd") != 10_000 || MinorUnit("JPY") != 1_000_000 || MinorUnit("IDR") != 1_000_000 {
		t.Fatal("minor units")
	}
	if got := adpacer.MustMicros("1234.567891").FloorTo(MinorUnit("RUB")); got != adpacer.MustMicros("1234.56") {
		t.Fatalf("floor: %s", got)
	}
}

func TestOperationBudgetPersistence(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b, err := NewOperationBudget(100, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(OpSearch, 30); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(OpMutate, 71); err == nil {
		t.Fatal("over-budget reservation accepted")
	}
	saved := b.Entries()
	restarted, _ := NewOperationBudget(100, clock, nil)
	if err := restarted.Restore(append(saved, BudgetEntry{At: now.Add(-25 * time.Hour), N: 50})); err != nil {
		t.Fatal(err)
	}
	if restarted.Remaining() != 70 {
		t.Fatalf("after restore: %d left, want 70 (the 25-hour-old entry is outside the window)", restarted.Remaining())
	}
	if err := restarted.Restore([]BudgetEntry{{At: now, N: -1}}); err == nil {
		t.Fatal("negative entry accepted")
	}
	now = now.Add(24*time.Hour + time.Minute)
	if restarted.Remaining() != 100 || restarted.Used() != 0 {
		t.Fatalf("window did not roll: %d", restarted.Remaining())
	}
}
