package clock

import (
	"context"
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := NewManual(t0)
	if err := c.Sleep(context.Background(), time.Hour); err != nil || !c.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("Sleep: %v %v", err, c.Now())
	}
	c.AdvanceTo(t0) // behind: ignored
	if !c.Now().Equal(t0.Add(time.Hour)) {
		t.Fatal("AdvanceTo moved the clock backwards")
	}
	c.AdvanceTo(t0.Add(2 * time.Hour))
	c.Advance(time.Minute)
	if !c.Now().Equal(t0.Add(2*time.Hour + time.Minute)) {
		t.Fatalf("now %v", c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("Set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c.Sleep(ctx, time.Hour) == nil || !c.Now().Equal(t0) {
		t.Fatal("Sleep on a done context must not advance")
	}
}
