// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): READY=1
// once migrations ran, STOPPING=1 on shutdown, and WATCHDOG=1 only while the
// daemon's main loop makes progress, so a wedged loop gets restarted by
// systemd instead of being kept alive by a free-running ticker.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends states to $NOTIFY_SOCKET. Without the variable every call
// is a no-op, so the daemon calls it unconditionally.
type Notifier struct {
	addr *net.UnixAddr
}

// FromEnv reads NOTIFY_SOCKET ("@name" is an abstract socket).
func FromEnv() *Notifier {
	s := os.Getenv("NOTIFY_SOCKET")
	if s == "" {
		return &Notifier{}
	}
	name := s
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	return &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}
}

// Enabled reports whether a notify socket is configured.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends one state string such as "READY=1".
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: dial: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: write %q: %w", state, err)
	}
	return nil
}

// WatchdogInterval returns systemd's watchdog interval from WATCHDOG_USEC
// (when WATCHDOG_PID is unset or this process), or 0 when disabled.
func WatchdogInterval() (time.Duration, error) {
	us := os.Getenv("WATCHDOG_USEC")
	if us == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	v, err := strconv.ParseInt(us, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC=%q is not a positive integer", us)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// Progress reports when the main loop last made progress.
type Progress interface {
	LastBeat() time.Time
}

// Watchdog pings systemd at half the interval, but only while progress is
// recent (younger than the interval): when the main loop wedges the pings
// stop and systemd restarts the service. It returns when ctx ends.
func (n *Notifier) Watchdog(ctx context.Context, interval time.Duration, p Progress, now func() time.Time) error {
	if !n.Enabled() || interval <= 0 {
		<-ctx.Done()
		return nil
	}
	if p == nil {
		return errors.New("sdnotify: watchdog needs a progress source")
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if now().Sub(p.LastBeat()) < interval {
				if err := n.Notify("WATCHDOG=1"); err != nil {
					return err
				}
			}
		}
	}
}
