package trello

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

func TestWebhookRejectsForgeriesAndDedupes(t *testing.T) {
	const secret, callback = "app-secret", "https://adpacer.example/trello/hook?board=b1"
	events := make(chan WebhookEvent, 10)
	h, err := NewWebhookHandler(WebhookOptions{Secret: secret, CallbackURL: callback, MaxBody: 4096,
		Notify: func(e WebhookEvent) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"action":{"id":"a1","type":"updateCard","date":"2026-11-27T09:00:00.000Z","memberCreator":{"username":"boss"},` +
		`"data":{"board":{"id":"b1"},"card":{"id":"c1","name":"Одобрить бюджет"},"listAfter":{"id":"l-approved"}}},"model":{"id":"b1"}}`
	send := func(method, sig, b string) int {
		req := httptest.NewRequest(method, callback, strings.NewReader(b))
		if sig != "" {
			req.Header.Set("X-Trello-Webhook", sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	good := Signature(secret, []byte(body), callback)
	for name, tc := range map[string]struct {
		method, sig, body string
		code              int
	}{
		"HEAD validation":       {http.MethodHead, "", "", 200},
		"no signature":          {http.MethodPost, "", body, 401},
		"wrong secret":          {http.MethodPost, Signature("guess", []byte(body), callback), body, 401},
		"other callback URL":    {http.MethodPost, Signature(secret, []byte(body), "https://adpacer.example/trello/hook"), body, 401},
		"tampered body":         {http.MethodPost, good, strings.Replace(body, "boss", "evil", 1), 401},
		"not base64":            {http.MethodPost, "%%%", body, 401},
		"GET":                   {http.MethodGet, good, "", 401},
		"too large":             {http.MethodPost, good, body + strings.Repeat(" ", 5000), 413},
		"signed but not Trello": {http.MethodPost, Signature(secret, []byte(`{}`), callback), `{}`, 400},
	} {
		if got := send(tc.method, tc.sig, tc.body); got != tc.code {
			t.Errorf("%s: %d, want %d", name, got, tc.code)
		}
	}
	if len(events) != 0 {
		t.Fatalf("rejected requests notified: %d", len(events))
	}
	if got := send(http.MethodPost, good, body); got != 200 {
		t.Fatalf("genuine delivery: %d", got)
	}
	if got := send(http.MethodPost, good, body); got != 200 {
		t.Fatalf("resent delivery: %d", got)
	}
	if len(events) != 1 {
		t.Fatalf("%d notifications, want 1 (resends deduplicated)", len(events))
	}
	e := <-events
	if e.CardID != "c1" || e.ListAfter != "l-approved" || e.By != "boss" || e.Type != "updateCard" {
		t.Errorf("event %+v", e)
	}
	for _, o := range []WebhookOptions{
		{CallbackURL: callback, Notify: func(WebhookEvent) {}},
		{Secret: "s", CallbackURL: "/relative", Notify: func(WebhookEvent) {}},
		{Secret: "s", CallbackURL: callback},
	} {
		if _, err := NewWebhookHandler(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// An approval moved on the board reaches the daemon through a registered
// webhook within the same second, with a non-ASCII card name and a callback
// URL carrying a query string.
func TestWebhookEndToEndWithFake(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "approvals", Members: []string{"boss"}})
	events := make(chan WebhookEvent, 16)
	mux := http.NewServeMux()
	var h *WebhookHandler
	mux.HandleFunc("/trello", func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	callback := srv.URL + "/trello?board=" + b.ID
	var err error
	h, err = NewWebhookHandler(WebhookOptions{Secret: e.fake.Secret(), CallbackURL: callback,
		Notify: func(ev WebhookEvent) {
			select {
			case events <- ev:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := e.c.RegisterWebhook(ctx, b.ID, callback, "adpacer approvals"); err != nil {
		t.Fatal(err)
	}
	p, err := NewApprovals(e.c, ApprovalOptions{BoardID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	a := budgetAction("ключ-1")
	a.Reason = "недорасход 38% — догоняем к концу месяца"
	if err := p.Request(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	var cardID string
	for _, c := range e.fake.Cards(b.ID) {
		cardID = c.ID
	}
	if err := e.fake.MoveCard(cardID, "Approved", "boss"); err != nil {
		t.Fatal(err)
	}
	e.fake.Flush()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.CardID != cardID || ev.ListAfter == "" {
				continue // createCard and list creations arrive too
			}
			ds, err := p.Decisions(ctx)
			if err != nil || len(ds) != 1 || ds[0].Verdict != VerdictApproved || ds[0].By != "boss" {
				t.Fatalf("decisions after webhook: %v %+v", err, ds)
			}
			return
		case <-deadline:
			t.Fatal("no webhook event for the approval move")
		}
	}
}

func TestRegisterWebhookFailsWhenCallbackRefusesHEAD(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "x"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	if _, err := e.c.RegisterWebhook(ctxT(t), b.ID, srv.URL+"/hook", "x"); err == nil {
		t.Fatal("webhook registered though the callback answered 404 to HEAD")
	}
}
