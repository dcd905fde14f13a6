package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type beat struct{ last atomic.Int64 }

func (b *beat) LastBeat() time.Time { return time.Unix(0, b.last.Load()) }

// listen opens a fake NOTIFY_SOCKET and collects datagrams.
func listen(t *testing.T) (string, func() []string, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return path, func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), got...)
		}, func() {
			conn.Close()
			<-done
		}
}

func count(xs []string, s string) int {
	n := 0
	for _, x := range xs {
		if x == s {
			n++
		}
	}
	return n
}

func TestNotifyAndWatchdogStopsWhenLoopWedges(t *testing.T) {
	path, got, stop := listen(t)
	defer stop()
	t.Setenv("NOTIFY_SOCKET", path)
	n := FromEnv()
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	b := &beat{}
	b.last.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	interval := 100 * time.Millisecond
	go func() { errc <- n.Watchdog(ctx, interval, b, time.Now) }()
	// The loop beats for a while: pings flow.
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		b.last.Store(time.Now().UnixNano())
		time.Sleep(20 * time.Millisecond)
	}
	alive := count(got(), "WATCHDOG=1")
	if alive < 3 {
		t.Fatalf("only %d watchdog pings while the loop made progress", alive)
	}
	// The loop wedges: no more beats, pings must stop.
	time.Sleep(interval + 20*time.Millisecond) // last beat ages past the interval
	wedged := count(got(), "WATCHDOG=1")
	time.Sleep(400 * time.Millisecond)
	if after := count(got(), "WATCHDOG=1"); after != wedged {
		t.Fatalf("watchdog kept pinging a wedged loop: %d -> %d", wedged, after)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := n.Notify("STOPPING=1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	msgs := got()
	if msgs[0] != "READY=1" || msgs[len(msgs)-1] != "STOPPING=1" {
		t.Fatalf("messages %v", msgs)
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := FromEnv()
	if n.Enabled() || n.Notify("READY=1") != nil {
		t.Fatal("notify without socket must be a silent no-op")
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "60000000")
	t.Setenv("WATCHDOG_PID", "")
	if d, err := WatchdogInterval(); err != nil || d != time.Minute {
		t.Fatalf("got %v %v", d, err)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if d, _ := WatchdogInterval(); d != 0 {
		t.Fatal("watchdog meant for another pid must be ignored")
	}
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "abc")
	if _, err := WatchdogInterval(); err == nil {
		t.Fatal("bad WATCHDOG_USEC accepted")
	}
}
