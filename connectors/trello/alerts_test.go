package trello

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

const cycleEvery = 5 * time.Minute

type sinkEnv struct {
	*env
	board trellotest.Board
	store *trellotest.MemoryAlertStore
	sink  *AlertSink
	opts  AlertOptions
}

func newSinkEnv(t *testing.T, opts AlertOptions) *sinkEnv {
	t.Helper()
	e := newEnv(t, trellotest.Options{})
	b := e.fake.CreateBoard(trellotest.BoardSpec{Name: "adpacer alerts", Lists: []string{"Backlog"}, Members: []string{"anna", "boss"}})
	opts.BoardID = b.ID
	se := &sinkEnv{env: e, board: b, opts: opts}
	se.restart(t, &trellotest.MemoryAlertStore{})
	return se
}

// restart builds a new sink (as after a process restart) over st.
func (se *sinkEnv) restart(t *testing.T, st *trellotest.MemoryAlertStore) {
	t.Helper()
	sink, err := NewAlertSink(se.c, st, se.opts)
	if err != nil {
		t.Fatal(err)
	}
	se.sink, se.store = sink, st
}

func (se *sinkEnv) sync(t *testing.T, alerts ...adpacer.Alert) {
	t.Helper()
	if err := se.sink.Sync(ctxT(t), alerts); err != nil {
		t.Fatalf("sync at %s: %v", se.clock.Now().Format(time.RFC3339), err)
	}
}

func (se *sinkEnv) cards(t *testing.T) []trellotest.CardView {
	t.Helper()
	return se.fake.Cards(se.board.ID)
}

func (se *sinkEnv) cardFor(t *testing.T, key string) trellotest.CardView {
	t.Helper()
	var found []trellotest.CardView
	for _, c := range se.cards(t) {
		if markerValue(c.Desc, AlertKeyMarker) == key {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one card for %q, got %d", key, len(found))
	}
	return found[0]
}

func overspend(key string, sev adpacer.Severity, fp string) adpacer.Alert {
	return adpacer.Alert{Key: key, Severity: sev, Kind: "overspend", Line: "retail-" + key, Campaign: adpacer.CampaignID("yandex_direct:" + key),
		Owner: "anna", Title: "Overspend on " + key, Detail: "Spent 120 000.00 of 100 000.00 RUB planned by now.", Fingerprint: fp}
}

func TestAlertCardCreatedWithLabelsOwnerDueAndMarker(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{})
	se.sync(t, overspend("vl", adpacer.SeverityCritical, "a"), overspend("kh", adpacer.SeverityWarning, "a"))
	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("vl", adpacer.SeverityCritical, "a"), overspend("kh", adpacer.SeverityWarning, "a"))
	// Approvals on the same board add their own lists and label once.
	p, err := NewApprovals(se.c, ApprovalOptions{BoardID: se.board.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decisions(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	lists := strings.Join(se.fake.ListNames(se.board.ID), ",")
	if lists != "Backlog,Alerts,Resolved,Approvals,Approved,Rejected" {
		t.Fatalf("lists = %s", lists)
	}
	labels := se.fake.LabelNames(se.board.ID)
	count := map[string]int{}
	for _, l := range labels {
		count[l]++
	}
	for _, l := range []string{"critical", "warning", "info", "snoozed", "approved"} {
		if count[l] != 1 {
			t.Errorf("label %q exists %d times, want once (labels: %v)", l, count[l], labels)
		}
	}
	vl := se.cardFor(t, "vl")
	if vl.ListName != "Alerts" || strings.Join(vl.Labels, ",") != "critical" || strings.Join(vl.Members, ",") != "anna" {
		t.Errorf("critical card: list %q labels %v members %v", vl.ListName, vl.Labels, vl.Members)
	}
	if vl.Due == nil || !vl.Due.Equal(time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("critical due = %v, want opening + 4h", vl.Due)
	}
	for _, want := range []string{"**What happened:** Overspend on vl", "120 000.00", "**Numbers**", "**What to do:**", "adpacer-alert-key: vl"} {
		if !strings.Contains(vl.Desc, want) {
			t.Errorf("description lacks %q:\n%s", want, vl.Desc)
		}
	}
	if kh := se.cardFor(t, "kh"); kh.Due != nil || len(kh.Comments) != 0 {
		t.Errorf("warning card: due %v comments %v; want none", kh.Due, kh.Comments)
	}
	if len(se.cards(t)) != 2 {
		t.Fatalf("want 2 cards, got %d", len(se.cards(t)))
	}
}

func TestFlappingAlertCommentsAreBounded(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{CommentInterval: time.Hour, HealthyCycles: 3})
	start := se.clock.Now()
	const cycles = 100
	for i := range cycles {
		// Fires 2 cycles out of 6, with a new fingerprint every time: long
		// enough quiet spells to resolve, short enough to reopen.
		if i%6 < 2 {
			se.sync(t, overspend("flap", adpacer.SeverityWarning, fmt.Sprintf("fp-%d", i)))
		} else {
			se.sync(t)
		}
		se.clock.Advance(cycleEvery)
	}
	elapsed := se.clock.Now().Sub(start)
	bound := 1 + int(elapsed/time.Hour)
	c := se.cardFor(t, "flap")
	t.Logf("%d cycles over %s: %d comments (bound %d)", cycles, elapsed, len(c.Comments), bound)
	if len(c.Comments) > bound {
		t.Fatalf("flapping alert got %d comments, want at most %d:\n%s", len(c.Comments), bound, strings.Join(c.Comments, "\n---\n"))
	}
	if len(c.Comments) < 2 {
		t.Fatalf("flapping alert got %d comments; resolutions/reopens should still be told now and then", len(c.Comments))
	}
	if n := len(se.cards(t)); n != 1 {
		t.Fatalf("flapping alert produced %d cards, want 1", n)
	}
}

func TestMassOutageMakesAtMostCapPlusOneCards(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{MaxNewCards: 10})
	var alerts []adpacer.Alert
	for i := range 500 {
		alerts = append(alerts, overspend(fmt.Sprintf("c%03d", i), adpacer.SeverityWarning, "x"))
	}
	alerts[250].Severity = adpacer.SeverityCritical
	for range 3 {
		se.sync(t, alerts...)
		se.clock.Advance(cycleEvery)
	}
	cards := se.cards(t)
	if len(cards) > 11 {
		t.Fatalf("500 alerts made %d cards over 3 cycles, want at most cap+1 = 11", len(cards))
	}
	if se.cardFor(t, "c250").Labels[0] != "critical" {
		t.Errorf("the critical alert should get one of the capped cards first")
	}
	roll := se.cardFor(t, RollupKey)
	if !strings.Contains(roll.Name, "490 more alerts") || !strings.Contains(roll.Desc, "c158") || !strings.Contains(roll.Desc, "and 340 more") {
		t.Errorf("roll-up card: %q\n%s", roll.Name, roll.Desc)
	}
	// Half the overflow clears: the roll-up is updated, not duplicated.
	for range 3 {
		se.sync(t, alerts[:300]...)
		se.clock.Advance(cycleEvery)
	}
	if n := len(se.cards(t)); n > 11 {
		t.Fatalf("after partial recovery %d cards, want <= 11", n)
	}
	if roll = se.cardFor(t, RollupKey); !strings.Contains(roll.Name, "290 more alerts") {
		t.Errorf("roll-up after recovery: %q", roll.Name)
	}
	// A rolled-up alert that gets worse earns its own card (within the cap).
	alerts[150].Severity = adpacer.SeverityCritical
	se.sync(t, alerts[:300]...)
	if c := se.cardFor(t, "c150"); !slices.Contains(c.Labels, "critical") || len(se.cards(t)) != 12 {
		t.Fatalf("promotion: labels %v, %d cards", c.Labels, len(se.cards(t)))
	}
	if roll = se.cardFor(t, RollupKey); !strings.Contains(roll.Name, "289 more alerts") {
		t.Errorf("roll-up after promotion: %q", roll.Name)
	}
	// A manager archives the roll-up: it stays archived, and is not replaced.
	if err := se.fake.ArchiveCard(roll.ID, "boss"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		se.clock.Advance(cycleEvery)
		se.sync(t, alerts[:300]...)
	}
	if roll = se.cardFor(t, RollupKey); !roll.Closed || len(se.cards(t)) != 12 {
		t.Fatalf("archived roll-up reopened (closed=%v) or replaced (%d cards)", roll.Closed, len(se.cards(t)))
	}
}

func TestUpstreamOutageIsOneCard(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{})
	var alerts []adpacer.Alert
	for i := range 500 {
		alerts = append(alerts, adpacer.Alert{Key: fmt.Sprintf("stale:%d", i), Severity: adpacer.SeverityWarning, Kind: "stale_data",
			Campaign: adpacer.CampaignID(fmt.Sprintf("yandex_direct:%d", i)), Owner: "anna", Title: "Yandex data is 3 h old", Fingerprint: "3h"})
	}
	alerts = append(alerts, overspend("other", adpacer.SeverityWarning, "x"))
	se.sync(t, alerts...)
	se.clock.Advance(cycleEvery)
	se.sync(t, alerts...)
	if n := len(se.cards(t)); n != 2 {
		t.Fatalf("outage of 500 campaigns + 1 other alert made %d cards, want 2", n)
	}
	c := se.cardFor(t, "outage:stale_data:yandex_direct")
	if !strings.Contains(c.Name, "500 campaigns") {
		t.Errorf("outage card name %q", c.Name)
	}
}

func TestStoreLossAndRestartCreateNoDuplicates(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{HealthyCycles: 1})
	a, b, r := overspend("a", adpacer.SeverityWarning, "1"), overspend("b", adpacer.SeverityCritical, "1"), overspend("r", adpacer.SeverityInfo, "1")
	se.sync(t, a, b, r)
	se.clock.Advance(cycleEvery)
	se.sync(t, a, b) // r resolves
	if got := se.cardFor(t, "r").ListName; got != "Resolved" {
		t.Fatalf("r in %q, want Resolved", got)
	}
	before := se.cards(t)

	// The store is lost and the process restarts.
	se.restart(t, &trellotest.MemoryAlertStore{})
	se.clock.Advance(cycleEvery)
	se.sync(t, a, b, r)
	se.clock.Advance(cycleEvery)
	se.sync(t, a, b, r)
	after := se.cards(t)
	if len(after) != len(before) {
		t.Fatalf("store loss: %d cards before, %d after", len(before), len(after))
	}
	if got := se.cardFor(t, "r").ListName; got != "Alerts" {
		t.Errorf("r returned within the reopen window; card in %q, want Alerts", got)
	}
	if c := se.cardFor(t, "a"); len(c.Comments) != 0 {
		t.Errorf("unchanged alert got comments after store loss: %v", c.Comments)
	}
	states, _ := se.store.ListAlerts(ctxT(t))
	if len(states) != 3 {
		t.Errorf("rebuilt %d states, want 3", len(states))
	}

	// A plain restart with the store intact: no writes to Trello beyond the read.
	se.restart(t, se.store)
	se.fake.ResetStats()
	se.clock.Advance(cycleEvery)
	se.sync(t, a, b, r)
	if n := len(se.cards(t)); n != len(before) {
		t.Fatalf("restart: %d cards, want %d", n, len(before))
	}
	t.Logf("steady cycle after restart: %d requests", se.fake.Stats().Requests)
}

func TestResolveReopenAndNewCardAfterWindow(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{HealthyCycles: 3, ReopenWindow: 2 * time.Hour, CommentInterval: time.Minute})
	a := overspend("x", adpacer.SeverityWarning, "1")
	se.sync(t, a)
	for range 3 {
		se.clock.Advance(cycleEvery)
		se.sync(t)
	}
	c := se.cardFor(t, "x")
	if c.ListName != "Resolved" || len(c.Comments) != 1 || !strings.HasPrefix(c.Comments[0], "Resolved") {
		t.Fatalf("after 3 healthy cycles: list %q comments %v", c.ListName, c.Comments)
	}
	se.clock.Advance(cycleEvery)
	se.sync(t, a)
	c = se.cardFor(t, "x")
	if c.ListName != "Alerts" || len(c.Comments) != 2 || !strings.Contains(c.Comments[1], "reopened") {
		t.Fatalf("reopen: list %q comments %v", c.ListName, c.Comments)
	}
	for range 3 {
		se.clock.Advance(cycleEvery)
		se.sync(t)
	}
	se.clock.Advance(3 * time.Hour)
	se.sync(t, a)
	if n := len(se.cards(t)); n != 2 {
		t.Fatalf("return after the reopen window: %d cards, want a new second card", n)
	}
}

// With the default comment interval (1 h), an alert that clears within
// the hour still gets its resolve comment: one per episode. A return within
// the interval reopens the card silently, and its resolve is not repeated;
// an episode that was told (an update comment) gets its own.
func TestResolveCommentedWithinTheDefaultInterval(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{HealthyCycles: 3})
	healthy := func() {
		for range 3 {
			se.clock.Advance(cycleEvery)
			se.sync(t)
		}
	}
	se.sync(t, overspend("x", adpacer.SeverityWarning, "1"))
	healthy()
	c := se.cardFor(t, "x")
	if c.ListName != "Resolved" || len(c.Comments) != 1 || !strings.HasPrefix(c.Comments[0], "Resolved:") {
		t.Fatalf("cleared after 15 min: list %q comments %q; want Resolved with one resolve comment", c.ListName, c.Comments)
	}

	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("x", adpacer.SeverityWarning, "1")) // back within the hour: reopened silently
	if c = se.cardFor(t, "x"); c.ListName != "Alerts" || len(c.Comments) != 1 {
		t.Fatalf("reopen within the interval: list %q comments %q", c.ListName, c.Comments)
	}
	healthy()
	if c = se.cardFor(t, "x"); c.ListName != "Resolved" || len(c.Comments) != 1 {
		t.Fatalf("second resolve of a silent reopen: list %q comments %q; want the one resolve comment", c.ListName, c.Comments)
	}

	// A new episode after the interval is told on reopening; an update
	// comment follows, and the resolve minutes later is commented anyway.
	se.clock.Advance(time.Hour)
	se.sync(t, overspend("x", adpacer.SeverityWarning, "2"))
	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("x", adpacer.SeverityCritical, "3"))
	healthy()
	c = se.cardFor(t, "x")
	if c.ListName != "Resolved" || len(c.Comments) != 4 || !strings.HasPrefix(c.Comments[3], "Resolved:") {
		t.Fatalf("told episode: list %q comments %q; want reopened, update, resolved", c.ListName, c.Comments)
	}
}

func TestCommentOnlyWhenFingerprintChangesAndIntervalPassed(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{CommentInterval: time.Hour})
	se.sync(t, overspend("x", adpacer.SeverityWarning, "1"))
	for range 2 {
		se.clock.Advance(cycleEvery)
		se.sync(t, overspend("x", adpacer.SeverityWarning, "1"))
	}
	if c := se.cardFor(t, "x"); len(c.Comments) != 0 {
		t.Fatalf("same fingerprint commented: %v", c.Comments)
	}
	puts := se.store.Puts()
	for range 6 {
		se.clock.Advance(cycleEvery)
		se.sync(t, overspend("x", adpacer.SeverityWarning, "1"))
	}
	if n := se.store.Puts() - puts; n != 3 { // only LastSeenAt moves: written every 10 min
		t.Errorf("6 quiet cycles wrote %d states, want 3", n)
	}
	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("x", adpacer.SeverityWarning, "2")) // within the hour: deferred
	if c := se.cardFor(t, "x"); len(c.Comments) != 0 {
		t.Fatalf("commented within the interval: %v", c.Comments)
	}
	se.clock.Advance(time.Hour)
	se.sync(t, overspend("x", adpacer.SeverityWarning, "2"))
	if c := se.cardFor(t, "x"); len(c.Comments) != 1 {
		t.Fatalf("deferred change not commented after the interval: %v", c.Comments)
	}
	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("x", adpacer.SeverityCritical, "3")) // worse: at once, with the label swapped
	c := se.cardFor(t, "x")
	if len(c.Comments) != 2 || strings.Join(c.Labels, ",") != "critical" || c.Due == nil {
		t.Fatalf("worsening: comments %d labels %v due %v", len(c.Comments), c.Labels, c.Due)
	}
}

func TestSnoozeAndArchiveRespectedUntilWorse(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{CommentInterval: time.Minute})
	se.sync(t, overspend("s", adpacer.SeverityWarning, "1"), overspend("z", adpacer.SeverityInfo, "1"))
	if err := se.fake.AddLabel(se.cardFor(t, "s").ID, "snoozed", "boss"); err != nil {
		t.Fatal(err)
	}
	if err := se.fake.ArchiveCard(se.cardFor(t, "z").ID, "boss"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		se.clock.Advance(cycleEvery)
		se.sync(t, overspend("s", adpacer.SeverityWarning, fmt.Sprint(i+2)), overspend("z", adpacer.SeverityInfo, fmt.Sprint(i+2)))
	}
	s, z := se.cardFor(t, "s"), se.cardFor(t, "z")
	if len(s.Comments)+len(z.Comments) != 0 || !z.Closed {
		t.Fatalf("snoozed/archived cards touched: s comments %v, z comments %v closed %v", s.Comments, z.Comments, z.Closed)
	}
	se.clock.Advance(cycleEvery)
	se.sync(t, overspend("s", adpacer.SeverityCritical, "9"), overspend("z", adpacer.SeverityWarning, "9"))
	s, z = se.cardFor(t, "s"), se.cardFor(t, "z")
	if len(s.Comments) != 1 || strings.Contains(strings.Join(s.Labels, ","), "snoozed") || strings.Join(s.Labels, ",") != "critical" {
		t.Errorf("worsened snoozed card: comments %v labels %v", s.Comments, s.Labels)
	}
	if z.Closed || z.ListName != "Alerts" || len(z.Comments) != 1 {
		t.Errorf("worsened archived card: closed %v list %q comments %v", z.Closed, z.ListName, z.Comments)
	}
	if n := len(se.cards(t)); n != 2 {
		t.Errorf("%d cards, want 2", n)
	}
}

func TestMalformedAlertsReportedOthersSynced(t *testing.T) {
	se := newSinkEnv(t, AlertOptions{})
	err := se.sink.Sync(ctxT(t), []adpacer.Alert{
		{Key: "", Severity: adpacer.SeverityWarning, Title: "no key"},
		{Key: "sev", Severity: "urgent", Title: "bad severity"},
		overspend("good", adpacer.SeverityWarning, "1"),
	})
	if err == nil || !strings.Contains(err.Error(), `severity "urgent"`) || !strings.Contains(err.Error(), "key is empty") {
		t.Fatalf("error = %v", err)
	}
	if n := len(se.cards(t)); n != 1 {
		t.Fatalf("%d cards, want the one good alert", n)
	}
}

func TestAlertSinkOptionsValidated(t *testing.T) {
	e := newEnv(t, trellotest.Options{})
	st := &trellotest.MemoryAlertStore{}
	for name, o := range map[string]AlertOptions{
		"no board":      {},
		"dup lists":     {BoardID: "b", Lists: ListNames{Alerts: "X", Resolved: "X"}},
		"healthy":       {BoardID: "b", HealthyCycles: -1},
		"cap":           {BoardID: "b", MaxNewCards: -2},
		"outage min":    {BoardID: "b", OutageMin: 1},
		"comment every": {BoardID: "b", CommentInterval: -time.Second},
	} {
		if _, err := NewAlertSink(e.c, st, o); err == nil {
			t.Errorf("%s: options accepted", name)
		}
	}
	if _, err := NewAlertSink(e.c, nil, AlertOptions{BoardID: "b"}); err == nil {
		t.Error("nil store accepted")
	}
}
