package trello

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/store/sqlite"
)

func TestSyncLargeBoardStaysUnderTokenLimit(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Bank project", Lists: []string{"To do", "Doing", "Done"},
		Labels: map[string]string{"urgent": "red"}, Members: []string{"anna"}})
	for _, l := range []string{"To do", "Doing", "Done"} {
		if _, err := e.fake.AddCards(b.Lists[l], l, 667); err != nil {
			t.Fatal(err)
		}
	}
	fid, err := e.fake.AddCustomField(b.ID, "Budget", "number")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewBoardSync(e.c, SyncOptions{Boards: []string{b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	cards := e.fake.Cards(b.ID)
	if err := e.c.SetCustomField(ctx, cards[5].ID, fid, "number", "1234567.891"); err != nil {
		t.Fatal(err)
	}
	e.fake.ResetStats()
	batches, err := s.PullBoards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || len(batches[0].Cards) != 2001 {
		t.Fatalf("want 1 batch with 2001 cards, got %d batches", len(batches))
	}
	full := e.fake.Stats().Requests
	maxWin := e.fake.MaxRequestsInWindow(e.fake.Token())
	t.Logf("full sync of 2,001 cards: %d requests, max %d in any 10 s window", full, maxWin)
	if maxWin >= 100 || full > 20 {
		t.Fatalf("full sync used %d requests (max %d per 10 s); want < 100 per 10 s", full, maxWin)
	}
	var got string
	for _, c := range batches[0].Cards {
		if c.ID == cards[5].ID {
			got = c.CustomFields[fid]
		}
	}
	if got != "1234567.891" {
		t.Fatalf("custom field value = %q, want the exact string 1234567.891", got)
	}

	// Unchanged board: one batch route, no batch returned.
	e.clock.Advance(time.Minute)
	e.fake.ResetStats()
	batches, err = s.PullBoards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 0 || e.fake.Stats().Requests != 1 {
		t.Fatalf("unchanged board: %d batches, %d requests; want 0 and 1", len(batches), e.fake.Stats().Requests)
	}

	// Two cards change: only they are read.
	e.clock.Advance(time.Minute)
	if err := e.fake.MoveCard(cards[10].ID, "Done", "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.ArchiveCard(cards[11].ID, "anna"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.fake.ResetStats()
	batches, err = s.PullBoards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || len(batches[0].Cards) != 2 {
		t.Fatalf("incremental: want 1 batch with 2 cards, got %+v", batches)
	}
	byID := map[string]bool{}
	for _, c := range batches[0].Cards {
		byID[c.ID] = c.Closed
		if c.ID == cards[10].ID && c.ListID != b.Lists["Done"] {
			t.Errorf("moved card list = %q, want Done %q", c.ListID, b.Lists["Done"])
		}
	}
	if !byID[cards[11].ID] {
		t.Errorf("archived card not marked closed: %v", byID)
	}
	t.Logf("incremental sync of 2 changed cards: %d requests", e.fake.Stats().Requests)

	if n := e.fake.Stats().Requests; n > 8 {
		t.Fatalf("incremental sync used %d requests, want <= 8", n)
	}

	// A failed pull changes no cursor: the same change is read again.
	if err := e.fake.MoveCard(cards[12].ID, "Done", "anna"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.fake.AddFault(trellotest.Fault{PathContains: "/labels", Status: 400, Body: "invalid value"})
	if got, err := s.PullBoards(ctx); err == nil || got != nil {
		t.Fatalf("pull under a fault: %v, %d batches", err, len(got))
	}
	if got, err := s.PullBoards(ctx); err != nil || len(got) != 1 || len(got[0].Cards) != 1 || got[0].Cards[0].ID != cards[12].ID {
		t.Fatalf("pull after the fault: %v %+v", err, got)
	}
	// The caller could not store it: ForgetCursors brings a full pull, which
	// lists the archived card too (closed), so the store learns of archives
	// it missed.
	s.ForgetCursors()
	again, err := s.PullBoards(ctx)
	if err != nil || len(again) != 1 || len(again[0].Cards) != 2001 {
		t.Fatalf("pull after ForgetCursors: %v %d batches", err, len(again))
	}
	for _, c := range again[0].Cards {
		if c.Closed != (c.ID == cards[11].ID) {
			t.Errorf("full pull: card %s closed = %v", c.Name, c.Closed)
		}
	}
}

func TestSyncCustomFieldKinds(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "b", Lists: []string{"L"}})
	ids, _ := e.fake.AddCards(b.Lists["L"], "c", 1)
	ctx := ctxT(t)
	type field struct{ typ, kind, value, want string }
	fields := map[string]field{}
	for name, f := range map[string]field{
		"Budget":   {"number", "number", "150000.25", "150000.25"},
		"Region":   {"text", "text", "Владивосток", "Владивосток"},
		"Deadline": {"date", "date", "2026-12-31T21:00:00Z", "2026-12-31T21:00:00.000Z"},
		"Paid":     {"checkbox", "checked", "true", "true"},
		"Priority": {"list", "idValue", "", "high"},
	} {
		id, err := e.fake.AddCustomField(b.ID, name, f.typ, "high", "low")
		if err != nil {
			t.Fatal(err)
		}
		if f.kind == "idValue" {
			f.value = e.fake.OptionID(id, "high")
		}
		if err := e.c.SetCustomField(ctx, ids[0], id, f.kind, f.value); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fields[id] = f
	}
	s, _ := NewBoardSync(e.c, SyncOptions{Boards: []string{b.ID}})
	out, err := s.PullBoards(ctx)
	if err != nil || len(out) != 1 || len(out[0].Cards) != 1 {
		t.Fatalf("pull: %v", err)
	}
	got := out[0].Cards[0].CustomFields
	for id, f := range fields {
		if got[id] != f.want {
			t.Errorf("%s field: %q, want %q", f.typ, got[id], f.want)
		}
	}
	items, err := e.c.CustomFieldItems(ctx, ids[0])
	if err != nil || len(items) != 5 {
		t.Fatalf("CustomFieldItems: %v %d", err, len(items))
	}
}

// openStore opens a migrated SQLite store, the daemon's default, so the
// sync tests check what the store ends up holding, not only the batches.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(ctxT(t), filepath.Join(t.TempDir(), "adpacer.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return st
}

// pullAndSave runs one PullBoards and stores its batches in order, as the
// daemon's board job does.
func pullAndSave(t *testing.T, s *BoardSync, st *sqlite.Store) []adpacer.BoardBatch {
	t.Helper()
	batches, err := s.PullBoards(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := st.SaveBoardBatch(ctxT(t), "trello", b, adpacer.Cursor{Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	return batches
}

func storedCards(t *testing.T, st *sqlite.Store) map[string]adpacer.Card {
	t.Helper()
	cards, err := st.Cards(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]adpacer.Card{}
	for _, c := range cards {
		out[c.ID] = c
	}
	return out
}

// Cards that leave a board while the daemon is down (archived, deleted,
// moved to a board it does not pull) are closed in the store by the first
// full pull after the restart; a card moved to a pulled board stays open
// there. The closed copies keep their name and list.
func TestFullSyncClosesCardsThatLeftWhileDown(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	a := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Bank project", Lists: []string{"To do", "Done"}, Members: []string{"anna"}})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Bank project 2", Lists: []string{"Inbox"}, Members: []string{"anna"}})
	other := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Another client", Lists: []string{"Inbox"}, Members: []string{"anna"}})
	ids, err := e.fake.AddCards(a.Lists["To do"], "task", 6)
	if err != nil {
		t.Fatal(err)
	}
	archived, deleted, movedAway, movedToB, kept := ids[0], ids[1], ids[2], ids[3], ids[4]
	st := openStore(t)
	// B first: its batch is stored before A's, so closing the card that
	// moved to B in A's batch would undo the move.
	opts := SyncOptions{Boards: []string{b.ID, a.ID}, KnownCards: st.Cards}
	first, err := NewBoardSync(e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	pullAndSave(t, first, st)
	if got := storedCards(t, st); len(got) != 6 || got[archived].Closed {
		t.Fatalf("first pull stored %d cards (%+v)", len(got), got[archived])
	}

	// The daemon is down while people work on the boards.
	e.clock.Advance(time.Hour)
	if err := e.fake.ArchiveCard(archived, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.DeleteCard(deleted, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MoveCardToBoard(movedAway, other.ID, "Inbox", "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MoveCardToBoard(movedToB, b.ID, "Inbox", "anna"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)

	restarted, err := NewBoardSync(e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	batches := pullAndSave(t, restarted, st)
	inBatch := map[string]adpacer.Card{}
	for _, bb := range batches {
		for _, c := range bb.Cards {
			if bb.Board.ID == a.ID {
				inBatch[c.ID] = c
			}
		}
	}
	for _, id := range []string{archived, deleted, movedAway} {
		if c, ok := inBatch[id]; !ok || !c.Closed {
			t.Errorf("board A batch: card %s present %v closed %v, want closed", id, ok, c.Closed)
		}
	}
	if _, ok := inBatch[movedToB]; ok {
		t.Errorf("board A batch holds the card moved to the pulled board B")
	}
	got := storedCards(t, st)
	for _, id := range []string{archived, deleted, movedAway} {
		c := got[id]
		if !c.Closed || c.BoardID != a.ID || c.Name == "" || c.ListID != a.Lists["To do"] {
			t.Errorf("stored card %s: %+v; want closed on board A with its name and list kept", id, c)
		}
	}
	if c := got[movedToB]; c.Closed || c.BoardID != b.ID || c.ListID != b.Lists["Inbox"] {
		t.Errorf("card moved to board B stored as %+v; want open on B", c)
	}
	if c := got[kept]; c.Closed {
		t.Errorf("untouched card closed: %+v", c)
	}

	// Without KnownCards a full pull still learns the archived card.
	plain, err := NewBoardSync(e.c, SyncOptions{Boards: []string{a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := plain.PullBoards(ctxT(t))
	if err != nil || len(out) != 1 {
		t.Fatalf("pull without KnownCards: %v %d", err, len(out))
	}
	closed := map[string]bool{}
	for _, c := range out[0].Cards {
		closed[c.ID] = c.Closed
	}
	if !closed[archived] || closed[kept] {
		t.Errorf("pull without KnownCards: archived closed %v, kept closed %v", closed[archived], closed[kept])
	}
}

// While the daemon runs, an incremental pull closes a card deleted or
// moved away since the last pull, from the action feed alone.
func TestIncrementalSyncClosesDeletedAndMovedAwayCards(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	a := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Bank project", Lists: []string{"To do"}, Members: []string{"anna"}})
	other := e.fake.CreateBoard(trellotest.BoardSpec{Name: "Another client", Lists: []string{"Inbox"}, Members: []string{"anna"}})
	ids, err := e.fake.AddCards(a.Lists["To do"], "task", 4)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	s, err := NewBoardSync(e.c, SyncOptions{Boards: []string{a.ID}, KnownCards: st.Cards})
	if err != nil {
		t.Fatal(err)
	}
	pullAndSave(t, s, st)
	e.clock.Advance(time.Minute)
	if err := e.fake.DeleteCard(ids[0], "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MoveCardToBoard(ids[1], other.ID, "Inbox", "anna"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.fake.ResetStats()
	batches := pullAndSave(t, s, st)
	if len(batches) != 1 || len(batches[0].Cards) != 2 {
		t.Fatalf("incremental pull: %+v", batches)
	}
	t.Logf("incremental pull of a deleted and a moved card: %d requests", e.fake.Stats().Requests)
	if n := e.fake.Stats().Requests; n > 8 {
		t.Errorf("incremental pull used %d requests, want <= 8 (it must not fall back to a full pull)", n)
	}
	got := storedCards(t, st)
	for _, id := range ids[:2] {
		if c := got[id]; !c.Closed || c.Name == "" {
			t.Errorf("card %s stored as %+v; want closed with its name", id, c)
		}
	}
	for _, id := range ids[2:] {
		if got[id].Closed {
			t.Errorf("untouched card %s closed", id)
		}
	}
}
