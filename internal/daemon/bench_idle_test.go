package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envIdleBinary names a built adpacer binary; TestIdleDaemon measures it.
const envIdleBinary = "ADPACER_IDLE_BINARY"

// TestIdleDaemon runs the real `adpacer run` binary against the fakes with
// the bank's size (180 campaigns in 30 lines) and every job on a one-minute
// cron, samples its CPU time and RSS from /proc once a second for three
// minutes, and logs the CPU share and RSS in the quiet part of each minute
// (15 s after the minute's jobs start, until the next minute). It waits for
// the first pull, then for a write on either platform (up to two more
// cycles), so the figures are after real work at any hour. It measures,
// it does not assert a figure: run it on purpose with
//
//	go build -o /tmp/adpacer ./cmd/adpacer
//	ADPACER_IDLE_BINARY=/tmp/adpacer go test -run TestIdleDaemon -v ./internal/daemon/
func TestIdleDaemon(t *testing.T) {
	bin := os.Getenv(envIdleBinary)
	if bin == "" {
		t.Skip(envIdleBinary + " is not set: this is a measurement run on purpose (see the comment)")
	}
	// The lines' month is centred on today and demand is three times the
	// daily budgets (which bind), so the engine raises budgets on any date:
	// a fixed calendar month would leave nothing to do outside it, and
	// near its end delivery cannot catch up and the engine holds back.
	now := time.Now().UTC()
	spec := worldSpec{Yandex: 120, Google: 60, Lines: 30,
		PeriodStart: now.AddDate(0, 0, -15).Format(time.DateOnly), PeriodEnd: now.AddDate(0, 0, 15).Format(time.DateOnly),
		LineBudgetRUB: 600_000, DailySpendRUB: 3_000, DailyBudgetRUB: 1_000, Start: now, Schedule: "@every 1m"}
	w := newWorld(t, spec)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the fakes follow the wall clock, like the daemon's
		defer close(done)
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tk.C:
				w.clock.Set(now.UTC())
			}
		}
	}()
	defer func() { close(stop); <-done }()
	cfg := w.writeConfig(t, t.TempDir())
	cmd := exec.Command(bin, "run", "--config", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	type sample struct {
		at    time.Duration
		ticks int64
		rssKB int64
	}
	var samples []sample
	start := time.Now()
	var firstPull time.Duration
	writes := func() int { return len(w.writeLog()) + int(w.googleWrites.Load()) }
	for time.Since(start) < 180*time.Second {
		ticks, rss, err := procUsage(pid)
		if err != nil {
			t.Fatalf("daemon died: %v\n%s", err, stderr.String())
		}
		samples = append(samples, sample{time.Since(start), ticks, rss})
		if firstPull == 0 && w.yandexReads.Load() > 0 && w.google.Calls().SearchStream > 0 {
			firstPull = time.Since(start)
		}
		time.Sleep(time.Second)
	}
	if firstPull == 0 {
		t.Fatalf("no pull reached the fakes in 180 s\n%s", stderr.String())
	}
	// The first pace may run before the first pull has stored anything
	// (the jobs share a schedule): its lines are held, and the writes come
	// with a later cycle. Which platform writes depends on the hour
	// (Yandex budgets are raised once a Moscow day), so both count, and
	// the daemon gets up to two more cycles to make them.
	for deadline := time.Now().Add(150 * time.Second); writes() == 0 && time.Now().Before(deadline); {
		if _, _, err := procUsage(pid); err != nil {
			t.Fatalf("daemon died: %v\n%s", err, stderr.String())
		}
		time.Sleep(time.Second)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	window := func(from, to time.Duration) (cpuPct float64, maxRSS int64) {
		var a, b *sample
		for i := range samples {
			s := &samples[i]
			if s.at >= from && a == nil {
				a = s
			}
			if s.at <= to {
				b = s
			}
			if s.at >= from && s.at <= to && s.rssKB > maxRSS {
				maxRSS = s.rssKB
			}
		}
		if a == nil || b == nil || b.at <= a.at {
			return 0, maxRSS
		}
		cpu := float64(b.ticks-a.ticks) / userHZ
		return 100 * cpu / (b.at - a.at).Seconds(), maxRSS
	}
	for m := 1; m <= 2; m++ {
		from, to := time.Duration(m)*time.Minute+15*time.Second, time.Duration(m+1)*time.Minute-time.Second
		pct, rss := window(from, to)
		t.Logf("idle %v..%v after start: CPU %.2f%% of one core, max RSS %.1f MB", from, to, pct, float64(rss)/1024)
	}
	pct, rss := window(0, 180*time.Second)
	t.Logf("whole 180 s incl. start-up and two cron runs: CPU %.2f%%, max RSS %.1f MB", pct, float64(rss)/1024)
	t.Logf("first pull reached the fakes %v after start; platform writes seen: %d Yandex, %d Google changes; alert cards: %d; exit after SIGTERM: %v",
		firstPull.Round(time.Second), len(w.writeLog()), w.googleWrites.Load(), len(w.trello.Cards(w.board.ID)), werr)
	if writes() == 0 {
		t.Errorf("the daemon applied nothing in three minutes: the idle figures are not after real work\n%s", stderr.String())
	}
}

// procUsage reads utime+stime (clock ticks) and VmRSS (kB) of pid.
func procUsage(pid int) (int64, int64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var rss int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return ut + st, rss, nil
}

// userHZ is the unit of utime and stime in /proc (sysconf(_SC_CLK_TCK)):
// 100 on every Linux architecture Go supports.
const userHZ = 100
