package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// The SIGKILL tests of both backends re-execute the test binary as a
// writer of numbered batches and kill it (ops-notes 6.8); CrashBatch is
// what the writer saves and CheckCrashBatches what the parent finds after
// reopening the store.

// CrashDay is the day of every CrashBatch stat.
var CrashDay = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// CrashBatch i holds campaigns i-0..i-(campaigns-1), each with 24 hourly
// stats whose cost encodes the batch and the hour. Big batches spill
// uncommitted pages (SQLite: into the WAL) before COMMIT, which is what a
// crash must not expose. The writer saves it under cursor "crash" = i.
func CrashBatch(i, campaigns int) adpacer.AdBatch {
	var b adpacer.AdBatch
	for c := 0; c < campaigns; c++ {
		id := adpacer.NewCampaignID(adpacer.YandexDirect, fmt.Sprintf("%d-%d", i, c))
		b.Campaigns = append(b.Campaigns, adpacer.Campaign{ID: id, TimeZone: "Europe/Moscow", Currency: "RUB", State: adpacer.StateOn})
		for h := 0; h < 24; h++ {
			start := CrashDay.Add(time.Duration(h) * time.Hour)
			b.Stats = append(b.Stats, adpacer.Stat{Campaign: id, Start: start, End: start.Add(time.Hour), Cost: adpacer.Micros(i*1000 + h), Clicks: 1})
		}
	}
	return b
}

// CheckCrashBatches asserts, on a store reopened after the writer was
// killed, that every batch up to the "crash" cursor is whole (two
// campaigns, 48 stats) and nothing of a later batch is visible. It returns
// the cursor, at least minCommitted.
func CheckCrashBatches(t *testing.T, s store.Store, minCommitted int) int {
	t.Helper()
	ctx := context.Background()
	cur, err := s.Cursor(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(cur.Value)
	if err != nil || n < minCommitted {
		t.Fatalf("cursor %q after crash, want >= %d", cur.Value, minCommitted)
	}
	cs, err := s.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := s.Stats(ctx, nil, CrashDay, CrashDay.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	perBatch := map[int]int{}
	for _, st := range stats {
		var i, c int
		if _, err := fmt.Sscanf(string(st.Campaign), "yandex_direct:%d-%d", &i, &c); err != nil {
			t.Fatalf("campaign %s: %v", st.Campaign, err)
		}
		if want := adpacer.Micros(i*1000 + st.Start.Hour()); st.Cost != want {
			t.Fatalf("stat of %s at %s: cost %s want %s", st.Campaign, st.Start, st.Cost, want)
		}
		perBatch[i]++
	}
	for i := 1; i <= n; i++ {
		if perBatch[i] != 48 {
			t.Errorf("committed batch %d has %d of 48 stats", i, perBatch[i])
		}
	}
	for i := range perBatch {
		if i > n {
			t.Errorf("batch %d beyond the cursor %d is visible (%d stats)", i, n, perBatch[i])
		}
	}
	if len(cs) != 2*n {
		t.Errorf("%d campaigns after crash, want %d", len(cs), 2*n)
	}
	return n
}

// KillLoopingWriter starts the writer child with env, lets it commit
// batches for a random 20..170 ms, SIGKILLs it and returns the last commit
// it reported ("COMMITTED n"). The cursor may be one ahead of it: a commit
// can land before the child prints it.
func KillLoopingWriter(t *testing.T, rnd *rand.Rand, env ...string) int {
	t.Helper()
	cmd, _, out := StartChild(t, env...)
	ReadLine(t, out) // first commit: the child is writing
	var last atomic.Int64
	last.Store(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := out.ReadString('\n')
			if err != nil {
				return // EOF once the child is dead
			}
			var n int64
			if _, err := fmt.Sscanf(line, "COMMITTED %d", &n); err == nil {
				last.Store(n)
			}
		}
	}()
	time.Sleep(time.Duration(20+rnd.IntN(150)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	_ = cmd.Wait()
	return int(last.Load())
}

// KillInTransaction starts the writer child with env in its hook mode,
// reads its "COMMITTED n" lines until it reports "IN-TX" (blocked inside
// the next transaction, before COMMIT), SIGKILLs it there and returns the
// last commit it reported.
func KillInTransaction(t *testing.T, env ...string) int {
	t.Helper()
	cmd, _, out := StartChild(t, env...)
	committed := 0
	for {
		line := ReadLine(t, out)
		if line == "IN-TX" {
			break
		}
		if _, err := fmt.Sscanf(line, "COMMITTED %d", &committed); err != nil {
			t.Fatalf("child said %q", line)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return committed
}

// CrashDB is a fresh database for one SIGKILL run: Env points the writer
// child at it, Verify reopens it after the kill and returns its cursor
// (checking at least minCommitted batches are intact).
type CrashDB struct {
	Env    string
	Verify func(minCommitted int) int
}

// SIGKILLMidTransaction kills the writer (modeEnv "=hook") inside its 6th
// transaction, before COMMIT, and checks the store holds exactly the 5
// committed batches.
func SIGKILLMidTransaction(t *testing.T, db CrashDB, modeEnv string) {
	t.Helper()
	if committed := KillInTransaction(t, db.Env, modeEnv+"=hook"); committed != 5 {
		t.Fatalf("child committed %d batches before blocking, want 5", committed)
	}
	if n := db.Verify(5); n != 5 {
		t.Fatalf("cursor %d after killing the 6th transaction before COMMIT, want 5", n)
	}
}

// SIGKILLAtRandomPoint kills a looping writer (modeEnv "=loop") at three
// random points, each on a fresh database from prepare, and checks the
// cursor is the last reported commit or one ahead of it (a commit can land
// before the child prints it).
func SIGKILLAtRandomPoint(t *testing.T, prepare func() CrashDB, modeEnv string) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	for round := 0; round < 3; round++ {
		db := prepare()
		reported := KillLoopingWriter(t, rnd, db.Env, modeEnv+"=loop")
		if n := db.Verify(reported); n > reported+1 {
			t.Errorf("round %d (seed %d): cursor %d, child reported %d", round, seed, n, reported)
		} else {
			t.Logf("round %d: killed after %d reported commits, cursor %d", round, reported, n)
		}
	}
}
