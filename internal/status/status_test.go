package status

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
)

type fakeReader struct{}

func (fakeReader) Actions(context.Context, store.ActionFilter) ([]store.ActionRecord, error) {
	v := adpacer.FromUnits(650)
	return []store.ActionRecord{{Action: adpacer.Action{Key: "k1", Campaign: "yandex_direct:1", Kind: adpacer.SetDailyBudget, Value: &v, Reason: "raise to plan <script>"}, State: adpacer.ActionApplied, UpdatedAt: time.Unix(1_790_000_000, 0)}}, nil
}

func (fakeReader) ListAlerts(context.Context) ([]adpacer.AlertState, error) {
	return []adpacer.AlertState{
		{Key: "stale:yandex-main", Severity: adpacer.SeverityCritical, Status: adpacer.AlertOpen, CardID: "card1"},
		{Key: "old", Severity: adpacer.SeverityInfo, Status: adpacer.AlertResolved},
	}, nil
}

func testHandler(t *testing.T) http.Handler {
	t.Helper()
	now := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	st := cycle.Status{At: now,
		Lines: []pacing.Line{{ID: "retail-msk", Name: "Retail loans, Moscow", Budget: adpacer.FromUnits(3_000_000), Currency: "RUB"}},
		Plan:  pacing.Plan{Lines: []pacing.LineStatus{{ID: "retail-msk", Spent: adpacer.FromUnits(600_000), PlannedToDate: adpacer.FromUnits(1_500_000), Status: pacing.StatusUnder}}},
		History: map[string][]cycle.Point{"retail-msk": {
			{At: now.Add(-time.Hour), Spent: adpacer.FromUnits(590_000), Planned: adpacer.FromUnits(1_400_000)},
			{At: now, Spent: adpacer.FromUnits(600_000), Planned: adpacer.FromUnits(1_500_000)}}},
	}
	h, err := Handler(Options{Status: func() cycle.Status { return st }, Store: fakeReader{}, BoardURL: "http://127.0.0.1:1/b/board1",
		CardURL: func(id string) string { return "http://127.0.0.1:1/c/" + id }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, path, auth string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestPageShowsLinesActionsAlerts(t *testing.T) {
	code, body := get(testHandler(t), "/", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"Retail loans, Moscow", "<svg", "polyline", "stale:yandex-main", "set_daily_budget", "650.00", "http://127.0.0.1:1/b/board1", `href="http://127.0.0.1:1/c/card1"`, "3\u202f000\u202f000.00"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, ">old<") {
		t.Error("page must escape reasons and hide resolved alerts")
	}
}

func TestJSON(t *testing.T) {
	code, body := get(testHandler(t), "/api/status", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var v View
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Lines) != 1 || v.Lines[0].Spent != adpacer.FromUnits(600_000) || len(v.Alerts) != 1 || len(v.Actions) != 1 {
		t.Fatalf("view %+v", v)
	}
}
