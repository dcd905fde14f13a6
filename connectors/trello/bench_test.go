package trello

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

func benchEnv(b *testing.B) *env {
	b.Helper()
	clk := trellotest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	fake := trellotest.NewServer(trellotest.Options{Now: clk.Now})
	b.Cleanup(fake.Close)
	c, err := New(Config{Key: fake.Key(), Token: fake.Token(), BaseURL: fake.BaseURL(), Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	return &env{fake: fake, clock: clk, c: c}
}

// BenchmarkPullBoardsFull2000 is the first (full) pull of a 2,000-card board.
func BenchmarkPullBoardsFull2000(b *testing.B) {
	e := benchEnv(b)
	bd := e.fake.CreateBoard(trellotest.BoardSpec{Name: "big", Lists: []string{"A", "B"}})
	if _, err := e.fake.AddCards(bd.Lists["A"], "card", 2000); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e.fake.ResetStats()
	b.ResetTimer()
	for b.Loop() {
		s, err := NewBoardSync(e.c, SyncOptions{Boards: []string{bd.ID}})
		if err != nil {
			b.Fatal(err)
		}
		out, err := s.PullBoards(ctx)
		if err != nil || len(out) != 1 || len(out[0].Cards) != 2000 {
			b.Fatalf("pull: %v", err)
		}
		e.clock.Advance(10 * time.Second) // one pull per window, as the scheduler would
	}
	b.ReportMetric(float64(e.fake.Stats().Requests)/float64(b.N), "requests/op")
}

// BenchmarkAlertSyncSteady500 is a cycle with 500 firing alerts whose cards
// (10 + roll-up) already exist.
func BenchmarkAlertSyncSteady500(b *testing.B) {
	e := benchEnv(b)
	bd := e.fake.CreateBoard(trellotest.BoardSpec{Name: "alerts", Members: []string{"anna"}})
	sink, err := NewAlertSink(e.c, &trellotest.MemoryAlertStore{}, AlertOptions{BoardID: bd.ID})
	if err != nil {
		b.Fatal(err)
	}
	alerts := make([]adpacer.Alert, 500)
	for i := range alerts {
		alerts[i] = overspend(fmt.Sprintf("c%03d", i), adpacer.SeverityWarning, "x")
	}
	ctx := context.Background()
	if err := sink.Sync(ctx, alerts); err != nil {
		b.Fatal(err)
	}
	e.fake.ResetStats()
	b.ResetTimer()
	for b.Loop() {
		e.clock.Advance(cycleEvery)
		if err := sink.Sync(ctx, alerts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.fake.Stats().Requests)/float64(b.N), "requests/op")
}
