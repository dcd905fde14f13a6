package trello

import (
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/trello/trellotest"
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
	// The caller could not store it: ForgetCursors brings a full pull.
	s.ForgetCursors()
	if got, err := s.PullBoards(ctx); err != nil || len(got) != 1 || len(got[0].Cards) != 2000 {
		t.Fatalf("pull after ForgetCursors: %v", err)
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
