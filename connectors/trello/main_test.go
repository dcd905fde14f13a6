package trello

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/adpacer/adpacer/connectors/trello/trellotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	fake  *trellotest.Server
	clock *trellotest.Clock
	c     *Client
}

func newEnv(t *testing.T, opts trellotest.Options) *env {
	t.Helper()
	clk := trellotest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	opts.Now = clk.Now
	fake := trellotest.NewServer(opts)
	t.Cleanup(fake.Close)
	c, err := New(Config{Key: fake.Key(), Token: fake.Token(), BaseURL: fake.BaseURL(), Clock: clk, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	return &env{fake: fake, clock: clk, c: c}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
