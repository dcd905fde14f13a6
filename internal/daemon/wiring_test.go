package daemon_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

// wiringSpec is a small world for the wiring tests: one campaign per
// platform in one line, behind plan so the engine raises budgets.
func wiringSpec(google int, mode, policy string) worldSpec {
	return worldSpec{Yandex: 1, Google: google, Lines: 1,
		PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30", LineBudgetRUB: 3_000_000,
		DailySpendRUB: 20_000, DailyBudgetRUB: 20_000, Mode: mode, Policy: policy,
		Start: time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)}
}

// writeConfigWith writes the world's config with extra YAML lines added to
// the Trello connector (six-space indent, after its alerts block).
func writeConfigWith(t *testing.T, w *world, trelloExtra string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	path := w.writeConfig(t, dir)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "        max_new_cards_per_cycle: 1000\n"
	cfg := string(raw)
	if !strings.Contains(cfg, anchor) {
		t.Fatalf("config layout changed: no %q", anchor)
	}
	cfg = strings.Replace(cfg, anchor, anchor+trelloExtra, 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func openWired(t *testing.T, w *world, cfg string) *liveDaemon {
	t.Helper()
	l, err := openDaemon(context.Background(), cfg, &stepClock{t: w.spec.Start})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.d.Close(ctx); err != nil {
			t.Error(err)
		}
		l.close()
	})
	return l
}

// A revoked Google grant stops the client for good; the only way a person
// learns of it is the client's alert, which must reach the board.
func TestGoogleClientAlertReachesTheBoard(t *testing.T) {
	w := newWorld(t, wiringSpec(1, "apply", ""))
	w.google.RevokeRefreshToken(worldRefresh)
	cfg, _ := writeConfigWith(t, w, "")
	l := openWired(t, w, cfg)
	_, err := l.runCycle(context.Background(), nil)
	if err == nil {
		t.Fatal("a cycle with a revoked Google grant reported no error")
	}
	t.Logf("cycle: %v", err)
	var titles []string
	for _, c := range w.trello.Cards(w.board.ID) {
		titles = append(titles, c.Name)
		if strings.Contains(c.Name, "Google Ads refresh token revoked") && !c.Closed {
			return
		}
	}
	t.Fatalf("no open alert card for the revoked Google grant; cards: %q", titles)
}

// Cards deleted on Trello must be closed in the store: the daemon gives the
// board sync the store's cards, so it can tell them apart from unchanged ones.
func TestDeletedBoardCardIsClosedInTheStore(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, wiringSpec(0, "observe", ""))
	project := w.trello.CreateBoard(trellotest.BoardSpec{Name: "Bank project", Lists: []string{"To do", "Done"}, Members: []string{"anna.pm"}})
	ids, err := w.trello.AddCards(project.Lists["To do"], "task", 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := writeConfigWith(t, w, "      boards: ["+project.ID+"]\n")
	l := openWired(t, w, cfg)
	if got := l.d.BoardSourceIDs(); len(got) != 1 {
		t.Fatalf("board sources %v, want trello-main", got)
	}
	if err := l.d.Runner.PullBoards(ctx, "trello-main"); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(w.spec.Start.Add(time.Minute))
	if err := w.trello.DeleteCard(ids[0], "anna.pm"); err != nil {
		t.Fatal(err)
	}
	if err := l.d.Runner.PullBoards(ctx, "trello-main"); err != nil {
		t.Fatal(err)
	}
	cards, err := l.st.Cards(ctx, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cards {
		if c.ID == ids[0] {
			found = true
			if !c.Closed {
				t.Fatalf("card %s deleted on Trello is still open in the store", c.ID)
			}
		}
	}
	if !found {
		t.Fatalf("card %s is not in the store at all", ids[0])
	}
}

// A manager's move of an approval card, delivered by a signed webhook, is
// applied at once, not at the next scheduled apply: nothing here runs the
// apply job after the move.
func TestWebhookApprovalIsAppliedWithoutWaitingForThePoll(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, wiringSpec(0, "approve", "    approval_threshold_pct: 1\n"))
	const callback = "https://adpacer.example.com/webhooks/trello"
	secretFile := filepath.Join(t.TempDir(), "trello-app-secret")
	if err := os.WriteFile(secretFile, []byte(w.trello.Secret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := writeConfigWith(t, w, "      webhook:\n        enabled: true\n        secret_file: "+secretFile+"\n        callback_url: "+callback+"\n")
	l := openWired(t, w, cfg)
	hook := l.d.WebhookHandler()
	if hook == nil {
		t.Fatal("webhook enabled in the config but the daemon has no receiver")
	}
	if _, err := l.runCycle(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var approval string
	for _, c := range w.trello.Cards(w.board.ID) {
		if c.ListName == "Approvals" && !c.Closed {
			approval = c.ID
		}
	}
	if approval == "" {
		t.Fatal("approve mode with a 1% threshold put up no approval card")
	}
	if n := len(w.writeLog()); n != 0 {
		t.Fatalf("%d writes before the approval", n)
	}
	if err := w.trello.MoveCard(approval, "Approved", "anna.pm"); err != nil {
		t.Fatal(err)
	}
	deliver := func(body string, sig string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/trello", strings.NewReader(body))
		req.Header.Set("X-Trello-Webhook", sig)
		hook.ServeHTTP(rec, req)
		return rec.Code
	}
	body := `{"action":{"id":"act-approve-1","type":"updateCard","date":"` + w.spec.Start.Format(time.RFC3339) + `",` +
		`"memberCreator":{"username":"anna.pm"},"data":{"board":{"id":"` + w.board.ID + `"},"card":{"id":"` + approval + `"},` +
		`"listAfter":{"id":"` + w.board.Lists["Approved"] + `"}}}}`
	// A forged delivery is refused and triggers nothing.
	if code := deliver(body, trellotest.Sign("not-the-secret", []byte(body), callback)); code != http.StatusUnauthorized {
		t.Fatalf("forged delivery answered %d", code)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(w.writeLog()); n != 0 {
		t.Fatalf("a forged webhook caused %d writes", n)
	}
	if code := deliver(body, trellotest.Sign(w.trello.Secret(), []byte(body), callback)); code != http.StatusOK {
		t.Fatalf("signed delivery answered %d", code)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(w.writeLog()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the approval delivered by webhook was not applied within 15 s (it waits for the scheduled apply)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	card, _ := w.trello.Card(approval)
	for time.Now().Before(deadline) && !card.Closed {
		time.Sleep(20 * time.Millisecond)
		card, _ = w.trello.Card(approval)
	}
	if !card.Closed {
		t.Fatal("the applied approval's card was not closed")
	}
	// Trello resends; a second delivery of the same action and the next
	// scheduled apply change nothing.
	deliver(body, trellotest.Sign(w.trello.Secret(), []byte(body), callback))
	ctxT, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.d.Close(ctxT); err != nil {
		t.Fatal(err)
	}
	if err := l.d.Runner.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(w.writeLog()); n != 1 {
		t.Fatalf("%d writes for one approval", n)
	}
}
