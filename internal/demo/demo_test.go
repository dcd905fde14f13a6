package demo

import (
	"bytes"
	"context"
	"testing"
)

func TestDemoTwoDays(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two simulated days against every fake")
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{Days: 2, Fast: true, Out: &out})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cycles != 2*96 {
		t.Fatalf("cycles %d", sum.Cycles)
	}
}
