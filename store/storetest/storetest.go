// Package storetest is the behaviour suite every store backend must pass.
// store/sqlite runs it always; store/postgres runs it when
// ADPACER_TEST_POSTGRES_DSN is set.
//
//	func TestMain(m *testing.M) { storetest.ChildMain(backend); os.Exit(m.Run()) }
//	func TestStore(t *testing.T) { storetest.Run(t, backend) }
package storetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// Backend tells the suite how to get stores.
type Backend struct {
	// New returns a fresh, migrated, empty store (closed by the suite) and
	// an address that Open accepts to reach the same database from another
	// process.
	New func(t *testing.T) (store.Store, string)
	// Open opens another handle on addr, without any exclusive process lock.
	Open func(ctx context.Context, addr string) (store.Store, error)
}

const (
	envChild = "ADPACER_STORETEST_CHILD"
	envAddr  = "ADPACER_STORETEST_ADDR"
	envKey   = "ADPACER_STORETEST_KEY"
	envEpoch = "ADPACER_STORETEST_EPOCH"
)

// ChildMain must be called at the start of TestMain. In a child process
// started by the suite it plays the child's role and exits; otherwise it
// returns at once.
func ChildMain(b Backend) {
	if os.Getenv(envChild) == "" {
		return
	}
	if err := child(b); err != nil {
		fmt.Fprintln(os.Stderr, "storetest child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// child claims one action key (role claim: prints WON or LOST) or a batch
// of comma-separated keys (role claimbatch: prints CLAIMED: and the keys it
// got) when the parent says GO, so two processes race for the same keys.
func child(b Backend) error {
	role := os.Getenv(envChild)
	if role != "claim" && role != "claimbatch" {
		return fmt.Errorf("unknown child role %q", role)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := b.Open(ctx, os.Getenv(envAddr))
	if err != nil {
		return err
	}
	defer s.Close()
	epoch, err := strconv.ParseInt(os.Getenv(envEpoch), 10, 64)
	if err != nil {
		return err
	}
	fmt.Println("READY")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "GO" {
		return fmt.Errorf("waiting for GO: %q %v", line, err)
	}
	if role == "claimbatch" {
		var keys []adpacer.ActionKey
		for _, k := range strings.Split(os.Getenv(envKey), ",") {
			keys = append(keys, adpacer.ActionKey(k))
		}
		got, err := s.ClaimActions(ctx, keys, epoch)
		if err != nil {
			return err
		}
		names := make([]string, len(got))
		for i, k := range got {
			names[i] = string(k)
		}
		fmt.Println("CLAIMED:" + strings.Join(names, ","))
		return nil
	}
	err = s.ClaimAction(ctx, adpacer.ActionKey(os.Getenv(envKey)), epoch)
	switch {
	case err == nil:
		fmt.Println("WON")
	case errors.Is(err, store.ErrConflict):
		fmt.Println("LOST")
	default:
		return err
	}
	return nil
}

// StartChild re-executes the test binary in a child role with extra
// environment; the caller owns the returned command and its pipes.
func StartChild(t *testing.T, env ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, in, bufio.NewReader(out)
}

// ReadLine reads one line of a child's output or fails the test.
func ReadLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case v := <-ch:
		if v.err != nil {
			t.Fatalf("child output: %v (got %q)", v.err, v.s)
		}
		return v.s
	case <-time.After(60 * time.Second):
		t.Fatal("child said nothing for 60s")
	}
	return ""
}
