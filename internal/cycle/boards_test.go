package cycle_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/internal/cycle"
	"github.com/adpacer/adpacer/pacing"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/sqlite"
)

// failOnceStore refuses the next SaveBoardBatch when armed.
type failOnceStore struct {
	store.Store
	fail atomic.Bool
}

func (s *failOnceStore) SaveBoardBatch(ctx context.Context, source string, b adpacer.BoardBatch, c adpacer.Cursor) error {
	if s.fail.CompareAndSwap(true, false) {
		return errors.New("disk full")
	}
	return s.Store.SaveBoardBatch(ctx, source, b, c)
}

// A board pull whose batch the store refuses must not lose the changes it
// carried: the sync's cursors advanced when it returned them, so the next
// (incremental) pull would see nothing new until the daily full pull.
func TestBoardBatchNotStoredIsPulledAgain(t *testing.T) {
	ctx := context.Background()
	clock := yandexdirecttest.NewManualClock(t0)
	tf := trellotest.NewServer(trellotest.Options{Now: clock.Now})
	t.Cleanup(tf.Close)
	board := tf.CreateBoard(trellotest.BoardSpec{Name: "project", Lists: []string{"To do", "Doing", "Done"}, Members: []string{"ivan"}})
	ids, err := tf.AddCards(board.Lists["To do"], "task", 3)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := trello.New(trello.Config{Key: tf.Key(), Token: tf.Token(), BaseURL: tf.BaseURL(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := trello.NewBoardSync(tc, trello.SyncOptions{Boards: []string{board.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "adpacer.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	if err := sq.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st := &failOnceStore{Store: sq}
	r, err := cycle.New(cycle.Options{Store: st, Now: clock.Now, Registerer: prometheus.NewRegistry(), Mode: cycle.Observe,
		Lines:  func(time.Time) ([]pacing.Line, error) { return nil, nil },
		Boards: []cycle.BoardInstance{{ID: "trello-main", Source: bs}}, Epoch: func() int64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PullBoards(ctx, "trello-main"); err != nil {
		t.Fatal(err)
	}
	listOf := func(id string) string {
		t.Helper()
		cards, err := sq.Cards(ctx, board.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			if c.ID == id {
				return c.ListID
			}
		}
		t.Fatalf("card %s is not in the store", id)
		return ""
	}
	if got := listOf(ids[0]); got != board.Lists["To do"] {
		t.Fatalf("first pull: card in list %s", got)
	}
	clock.Advance(time.Minute)
	if err := tf.MoveCard(ids[0], "Doing", "ivan"); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	if err := r.PullBoards(ctx, "trello-main"); err == nil {
		t.Fatal("a pull whose batch was not stored reported success")
	}
	clock.Advance(time.Minute)
	if err := r.PullBoards(ctx, "trello-main"); err != nil {
		t.Fatal(err)
	}
	if got := listOf(ids[0]); got != board.Lists["Doing"] {
		t.Fatalf("after a failed store and a good pull the card is still in list %s, want Doing (%s): the move was lost", got, board.Lists["Doing"])
	}
}
