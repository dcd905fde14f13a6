package trello

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

func TestBudgetKeepsBusyClientUnderTokenLimit(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "b", Lists: []string{"L"}})
	ids, _ := e.fake.AddCards(b.Lists["L"], "c", 30)
	ctx := ctxT(t)
	e.fake.ResetStats()
	for i := range 300 {
		if _, err := e.c.CustomFieldItems(ctx, ids[i%len(ids)]); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	routes := make([]string, 25)
	for i := range routes {
		routes[i] = "/cards/" + ids[i] + "?fields=name,idList"
	}
	res, err := e.c.Batch(ctx, routes)
	if err != nil || len(res) != 25 || res[24].Status != 200 {
		t.Fatalf("batch of 25: %v %d", err, len(res))
	}
	st := e.fake.Stats()
	maxWin := e.fake.MaxRequestsInWindow(e.fake.Token())
	t.Logf("325 requests: max %d in any 10 s, %d refused", maxWin, st.RateLimited)
	if st.RateLimited != 0 || maxWin > DefaultRequestsPer10s+DefaultBurst {
		t.Fatalf("busy client: %d 429s, %d requests in a 10 s window", st.RateLimited, maxWin)
	}
}

func TestRateLimitedClientWaitsForNextWindow(t *testing.T) {
	// A fake with a tiny token limit stands for people sharing the token.
	e := newEnv(t, trellotest.Options{TokenLimit: 3})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "b", Lists: []string{"L"}})
	ids, _ := e.fake.AddCards(b.Lists["L"], "c", 1)
	ctx := ctxT(t)
	start := e.clock.Now()
	for range 6 {
		if _, err := e.c.CustomFieldItems(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
	}
	waited := e.clock.Now().Sub(start)
	st := e.fake.Stats()
	if st.RateLimited > 2 || waited < 10*time.Second {
		t.Fatalf("6 requests with a limit of 3 per window: %d 429s, waited %s; want a wait for the next window, no storm", st.RateLimited, waited)
	}
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	const key, token = "key-CANARY-123", "tok-CANARY-456"
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	clk := trellotest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	fake := trellotest.NewServer(trellotest.Options{Now: clk.Now})
	defer fake.Close()
	fake.AddToken(key, token, "")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	var errs []error
	for _, base := range []string{fake.BaseURL(), deadURL + "/1"} {
		c, err := New(Config{Key: key, Token: token, BaseURL: base, Clock: clk, Logger: zap.New(core), Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"base": base}, reg), MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		_, err = NewBoardSync(c, SyncOptions{Boards: []string{strings.Repeat("0", 24)}})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewBoardSync(c, SyncOptions{Boards: []string{strings.Repeat("0", 24)}})
		_, err = s.PullBoards(ctx)
		errs = append(errs, err)
		_, err = c.CustomFieldItems(ctx, strings.Repeat("0", 24))
		errs = append(errs, err)
		sink, _ := NewAlertSink(c, &trellotest.MemoryAlertStore{}, AlertOptions{BoardID: strings.Repeat("0", 24)})
		errs = append(errs, sink.Sync(ctx, nil))
		_, err = c.RegisterWebhook(ctx, "x", "http://127.0.0.1:1/hook", "d")
		errs = append(errs, err)
	}
	bad, _ := New(Config{Key: key, Token: "tok-CANARY-wrong", BaseURL: fake.BaseURL(), Clock: clk})
	_, err := bad.CustomFieldItems(ctxT(t), strings.Repeat("0", 24))
	if !adpacer.IsTerminal(err) {
		t.Errorf("401 is not terminal: %v", err)
	}
	errs = append(errs, err)
	var text strings.Builder
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d did not fail", i)
			continue
		}
		fmt.Fprintf(&text, "%v\n%+v\n", err, err)
		for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
			fmt.Fprintf(&text, "%v\n", u)
		}
	}
	for _, entry := range logs.All() {
		fmt.Fprintf(&text, "%s %v\n", entry.Message, entry.ContextMap())
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		fmt.Fprintf(&text, "%v\n", mf)
	}
	out := text.String()
	if strings.Contains(out, "CANARY") {
		t.Fatalf("a credential leaked:\n%s", out)
	}
	if !strings.Contains(out, "REDACTED") && !strings.Contains(out, "HTTP 404") {
		t.Fatalf("errors carry no context:\n%s", out)
	}
	if n := testutil.CollectAndCount(reg, "adpacer_http_requests_total"); n == 0 {
		t.Error("no request metrics")
	}
}

func TestClientConfigValidated(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no key":   {Token: "t"},
		"no token": {Key: "k"},
		"bad base": {Key: "k", Token: "t", BaseURL: "api.trello.com"},
		"too fast": {Key: "k", Token: "t", RequestsPer10s: 95, Burst: 10},
		"negative": {Key: "k", Token: "t", RequestsPer10s: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := New(Config{Key: "k", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBoardSync(c, SyncOptions{}); err == nil {
		t.Error("sync without boards accepted")
	}
	if _, err := NewBoardSync(c, SyncOptions{Boards: []string{"a", "a"}}); err == nil {
		t.Error("duplicate board accepted")
	}
	if err := c.SetCustomField(context.Background(), "c", "f", "money", "1"); err == nil {
		t.Error("unknown custom field kind accepted")
	}
	if _, err := c.Batch(context.Background(), []string{"/1/cards/x"}); err == nil {
		t.Error("batch route with /1 accepted")
	}
}

func TestFaultsRetriedOnlyWhenSafe(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "b", Members: []string{"anna"}})
	ctx := ctxT(t)
	// A 503 on a read is retried with back-off and the sync completes.
	e.fake.AddFault(trellotest.Fault{Method: http.MethodGet, PathContains: "/lists", Status: 503, Body: "upstream busy", Times: 2})
	s, _ := NewBoardSync(e.c, SyncOptions{Boards: []string{b.ID}})
	if _, err := s.PullBoards(ctx); err != nil {
		t.Fatalf("sync through two 503s: %v", err)
	}
	// A 500 on card creation is not retried: Trello may have created it.
	sink, _ := NewAlertSink(e.c, &trellotest.MemoryAlertStore{}, AlertOptions{BoardID: b.ID})
	if err := sink.Sync(ctx, nil); err != nil { // set-up first
		t.Fatal(err)
	}
	e.fake.AddFault(trellotest.Fault{Method: http.MethodPost, PathContains: "/1/cards", Status: 500, Body: "oops", Times: 1})
	err := sink.Sync(ctx, []adpacer.Alert{overspend("x", adpacer.SeverityWarning, "1")})
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("create under a 500: %v", err)
	}
	if n := len(e.fake.Cards(b.ID)); n != 0 {
		t.Fatalf("%d cards after a failed create", n)
	}
	e.clock.Advance(cycleEvery)
	if err := sink.Sync(ctx, []adpacer.Alert{overspend("x", adpacer.SeverityWarning, "1")}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Cards(b.ID)); n != 1 {
		t.Fatalf("%d cards after the next cycle, want 1", n)
	}
	// The server creates the card and then fails: the next cycle finds the
	// card by its marker instead of creating a second one.
	e.fake.AddFault(trellotest.Fault{Method: http.MethodPost, PathContains: "/1/cards", Status: 500, Body: "oops", AfterApply: true})
	y := overspend("y", adpacer.SeverityWarning, "1")
	if err := sink.Sync(ctx, []adpacer.Alert{overspend("x", adpacer.SeverityWarning, "1"), y}); err == nil {
		t.Fatal("500 not reported")
	}
	e.clock.Advance(cycleEvery)
	if err := sink.Sync(ctx, []adpacer.Alert{overspend("x", adpacer.SeverityWarning, "1"), y}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Cards(b.ID)); n != 2 {
		t.Fatalf("%d cards after a create that failed after applying, want 2", n)
	}
}
