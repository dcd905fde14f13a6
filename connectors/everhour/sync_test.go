package everhour_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour"
	"github.com/adpacer/adpacer/connectors/everhour/everhourtest"
)

// localStore applies Reconcile as the store does in its transaction.
type localStore map[int64]adpacer.TimeRecord

func (s localStore) apply(b adpacer.TimeBatch) (upserts, deletes int) {
	local := make([]adpacer.TimeRecord, 0, len(s))
	for _, r := range s {
		local = append(local, r)
	}
	up, del := everhour.Reconcile(local, b)
	for _, r := range up {
		s[r.ID] = r
	}
	for _, id := range del {
		delete(s, id)
	}
	return len(up), len(del)
}

func (s localStore) sorted() []adpacer.TimeRecord {
	out := make([]adpacer.TimeRecord, 0, len(s))
	for _, r := range s {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Edited and deleted records upstream are reflected locally after the next
// sync of the re-read window; records outside the window are untouched.
func TestEditedAndDeletedRecordsReconciled(t *testing.T) {
	e := newEnv(t, time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC), everhour.Config{}, everhourtest.Options{})
	anna, ivan := seed(t, e.fake)
	store := localStore{}

	from, to := everhour.ReReadWindow(e.clock.Now(), time.UTC, 31)
	if from != "2026-10-13" || to != "2026-11-12" {
		t.Fatalf("window %s..%s", from, to)
	}
	b, err := e.client.PullTime(context.Background(), from, to)
	must(t, err)
	if up, del := store.apply(b); up != 6 || del != 0 {
		t.Fatalf("first sync: %d upserts %d deletes, want 6 and 0", up, del)
	}
	// An old record outside the next window must survive.
	old := adpacer.TimeRecord{ID: 1, UserID: anna, Date: "2026-09-01", Seconds: 42}
	store[old.ID] = old

	recs := e.fake.Records()
	edited, deleted, moved := recs[1].ID, recs[2].ID, recs[3].ID
	must(t, e.fake.EditRecord(edited, 7200, "", "longer"))
	must(t, e.fake.DeleteRecord(deleted))
	must(t, e.fake.EditRecord(moved, 0, "2026-09-30", "")) // moved out of the window
	added, err := e.fake.AddRecord(everhourtest.Record{UserID: ivan, Date: "2026-11-12", Seconds: 60, TaskID: "tr:card1"})
	must(t, err)

	b, err = e.client.PullTime(context.Background(), from, to)
	must(t, err)
	up, del := store.apply(b)
	if up != 2 || del != 2 {
		t.Errorf("second sync: %d upserts %d deletes, want 2 (edited, added) and 2 (deleted, moved out)", up, del)
	}
	var want []adpacer.TimeRecord
	want = append(want, old)
	for _, r := range e.fake.Records() {
		if r.Date >= from && r.Date <= to {
			want = append(want, adpacer.TimeRecord{ID: r.ID, UserID: r.UserID, Date: r.Date, Seconds: r.Seconds, TaskID: r.TaskID, Comment: r.Comment})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	if d := cmp.Diff(want, store.sorted()); d != "" {
		t.Errorf("local after reconcile (-want +got):\n%s", d)
	}
	if store[edited].Seconds != 7200 || store[edited].Comment != "longer" {
		t.Errorf("edited record = %+v", store[edited])
	}
	if _, ok := store[deleted]; ok {
		t.Error("deleted record still present")
	}
	if _, ok := store[added]; !ok {
		t.Error("added record missing")
	}
	// A third sync with no upstream change is a no-op.
	b, err = e.client.PullTime(context.Background(), from, to)
	must(t, err)
	if up, del := store.apply(b); up != 0 || del != 0 {
		t.Errorf("idle sync: %d upserts %d deletes, want none", up, del)
	}
}

func TestReconcileTable(t *testing.T) {
	r := func(id int64, date string, secs int64) adpacer.TimeRecord {
		return adpacer.TimeRecord{ID: id, UserID: 1, Date: date, Seconds: secs}
	}
	for _, tc := range []struct {
		name    string
		local   []adpacer.TimeRecord
		batch   []adpacer.TimeRecord
		wantUp  []int64
		wantDel []int64
	}{
		{"empty", nil, nil, nil, nil},
		{"new", nil, []adpacer.TimeRecord{r(1, "2026-11-02", 60)}, []int64{1}, nil},
		{"same", []adpacer.TimeRecord{r(1, "2026-11-02", 60)}, []adpacer.TimeRecord{r(1, "2026-11-02", 60)}, nil, nil},
		{"edited", []adpacer.TimeRecord{r(1, "2026-11-02", 60)}, []adpacer.TimeRecord{r(1, "2026-11-02", 61)}, []int64{1}, nil},
		{"deleted in range", []adpacer.TimeRecord{r(1, "2026-11-02", 60)}, nil, nil, []int64{1}},
		{"range ends inclusive", []adpacer.TimeRecord{r(1, "2026-11-01", 60), r(2, "2026-11-30", 60)}, nil, nil, []int64{1, 2}},
		{"outside range kept", []adpacer.TimeRecord{r(1, "2026-10-31", 60), r(2, "2026-12-01", 60)}, nil, nil, nil},
		{"moved into range", []adpacer.TimeRecord{r(1, "2026-10-31", 60)}, []adpacer.TimeRecord{r(1, "2026-11-03", 60)}, []int64{1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, del := everhour.Reconcile(tc.local, adpacer.TimeBatch{From: "2026-11-01", To: "2026-11-30", Records: tc.batch})
			var gotUp []int64
			for _, x := range up {
				gotUp = append(gotUp, x.ID)
			}
			if d := cmp.Diff(tc.wantUp, gotUp); d != "" {
				t.Errorf("upserts (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantDel, del); d != "" {
				t.Errorf("deletes (-want +got):\n%s", d)
			}
		})
	}
}

// A sync of 50,000 records stays within the rate limit and uses exactly
// ceil(N/limit) time pages (+1 empty page when N is a multiple of limit)
// plus the fixed calls (users, project pages, task pages per project).
func TestSync50kRecordsFewestRequests(t *testing.T) {
	const n = 50000
	for _, tc := range []struct {
		limit    int
		skipList bool
	}{{everhour.MaxTimePageLimit, true}, {2000, false}} {
		limit := tc.limit
		t.Run(fmt.Sprintf("limit %d skip task listing %v", limit, tc.skipList), func(t *testing.T) {
			e := newEnv(t, time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), everhour.Config{TimePageLimit: limit, SkipTaskListing: tc.skipList}, everhourtest.Options{})
			must(t, e.fake.AddProject(everhourtest.Project{ID: "tr:board1", Name: "Bank ads"}))
			must(t, e.fake.AddProject(everhourtest.Project{ID: "ev:2", Name: "Internal"}))
			var users []int64
			for i := range 12 {
				users = append(users, e.fake.AddUser(fmt.Sprintf("User %d", i), fmt.Sprintf("u%d@example.com", i)))
			}
			for c := range 300 {
				_, err := e.fake.AddTrelloCardTask(fmt.Sprintf("card%03d", c), fmt.Sprintf("Card %d", c), "tr:board1")
				must(t, err)
			}
			var want int64
			for i := range n {
				secs := int64(60 + (i*7919)%7200)
				want += secs
				_, err := e.fake.AddRecord(everhourtest.Record{UserID: users[i%12], Date: fmt.Sprintf("2026-11-%02d", 1+i%30), Seconds: secs, TaskID: fmt.Sprintf("tr:card%03d", i%300)})
				must(t, err)
			}
			start := e.clock.Now()
			b, err := e.client.PullTime(context.Background(), "2026-11-01", "2026-11-30")
			must(t, err)
			var got int64
			for _, r := range b.Records {
				got += r.Seconds
			}
			if len(b.Records) != n || got != want {
				t.Fatalf("got %d records %d s, want %d records %d s", len(b.Records), got, n, want)
			}
			st := e.fake.Stats()
			timePages := (n + limit - 1) / limit
			if n%limit == 0 {
				timePages++
			}
			// users 1 + projects 1 (short page) + tasks: board1 has 300 tasks
			// = 2 pages of 250, ev:2 has none = 1 page (unless skipped).
			fixed := 1 + 1 + 2 + 1
			if tc.skipList {
				fixed = 1 + 1
			}
			if len(b.Tasks) != 300 {
				t.Errorf("tasks = %d, want 300", len(b.Tasks))
			}
			if got := st.ByRoute["GET /team/time"]; got != timePages {
				t.Errorf("time pages = %d, want %d", got, timePages)
			}
			if st.Requests != timePages+fixed {
				t.Errorf("requests = %d, want %d (%v)", st.Requests, timePages+fixed, st.ByRoute)
			}
			if st.RateLimited != 0 || st.MaxInWindow > 20 {
				t.Errorf("rate limit: %d 429s, max %d requests in 10 s (limit 20)", st.RateLimited, st.MaxInWindow)
			}
			t.Logf("50,000 records, limit %d, skip task listing %v: %d requests (%d time pages + %d fixed), max %d per 10 s, 0 429s, %v virtual time",
				limit, tc.skipList, st.Requests, timePages, fixed, st.MaxInWindow, e.clock.Now().Sub(start))
		})
	}
}

// BenchmarkPullTime50k measures a complete pull of 50,000 records from the
// fake (the fake's JSON encoding is included in the time).
func BenchmarkPullTime50k(b *testing.B) {
	clock := everhourtest.NewClock(time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC))
	f := everhourtest.NewServer(everhourtest.Options{APIKey: canaryKey, Now: clock.Now, RateLimit: 1 << 30})
	defer f.Close()
	if err := f.AddProject(everhourtest.Project{ID: "tr:board1", Name: "Bank ads"}); err != nil {
		b.Fatal(err)
	}
	u := f.AddUser("U", "u@example.com")
	for c := range 300 {
		if _, err := f.AddTrelloCardTask(fmt.Sprintf("card%03d", c), "Card", "tr:board1"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50000 {
		if _, err := f.AddRecord(everhourtest.Record{UserID: u, Date: fmt.Sprintf("2026-11-%02d", 1+i%30), Seconds: int64(60 + i%7200), TaskID: fmt.Sprintf("tr:card%03d", i%300)}); err != nil {
			b.Fatal(err)
		}
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := everhour.New(everhour.Config{BaseURL: f.URL(), APIKey: canaryKey, SkipTaskListing: true}, everhour.Deps{Transport: tr, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		batch, err := c.PullTime(context.Background(), "2026-11-01", "2026-11-30")
		if err != nil || len(batch.Records) != 50000 {
			b.Fatalf("%d records, %v", len(batch.Records), err)
		}
	}
}
