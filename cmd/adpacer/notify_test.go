package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify runs the real daemon as a child process under a fake
// NOTIFY_SOCKET with a 2 s watchdog: it must send READY=1 once the store is
// migrated, WATCHDOG=1 while its loop runs, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real process")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 512)
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
	messages := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	cfg := writeFile(t, dir, "config.yaml", fmt.Sprintf("mode: observe\nstore: {sqlite: {path: %s}}\nhttp: {listen: \"127.0.0.1:0\"}\nlog: {format: json}\n", filepath.Join(dir, "db")))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=notify", "ADPACER_TEST_CONFIG="+cfg, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=2000000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		conn.Close()
		<-readDone
	}()
	waitFor := func(what string, pred func([]string) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if pred(messages()) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; got %q", what, messages())
	}
	count := func(ms []string, s string) int {
		n := 0
		for _, m := range ms {
			if m == s {
				n++
			}
		}
		return n
	}
	waitFor("READY=1", func(ms []string) bool { return count(ms, "READY=1") == 1 })
	waitFor("two watchdog pings", func(ms []string) bool { return count(ms, "WATCHDOG=1") >= 2 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30s of SIGTERM")
	}
	waitFor("STOPPING=1", func(ms []string) bool { return count(ms, "STOPPING=1") == 1 })
	ms := messages()
	if ms[0] != "READY=1" || !strings.Contains(strings.Join(ms, ","), "STOPPING=1") {
		t.Fatalf("order of notifications: %q", ms)
	}
}
