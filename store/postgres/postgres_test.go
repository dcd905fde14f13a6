package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/storetest"
)

// EnvDSN names the variable that enables the PostgreSQL tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable
const EnvDSN = "ADPACER_TEST_POSTGRES_DSN"

var backend = storetest.Backend{
	New: func(t *testing.T) (store.Store, string) {
		addr := freshSchema(t)
		s, err := Open(context.Background(), addr, Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			s.Close()
			t.Fatal(err)
		}
		return s, addr
	},
	Open: func(ctx context.Context, addr string) (store.Store, error) {
		return Open(ctx, addr, Options{MaxConns: 2})
	},
}

func TestMain(m *testing.M) {
	crashChildMain()
	storetest.ChildMain(backend)
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// freshSchema is a fresh schema of the test server, dropped at the end.
func freshSchema(t testing.TB) string { return storetest.PostgresSchema(t, "adpacer_test") }

func TestBehaviour(t *testing.T) { storetest.Run(t, backend) }

// TestOpenErrorsHideTheDSNSecret: a password must never reach an error
// (errors end up in logs).
func TestOpenErrorsHideTheDSNSecret(t *testing.T) {
	const canary = "canary-pw-7f3a9"
	for _, dsn := range []string{
		"postgres://adpacer:" + canary + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", // nothing listens on port 1
		"postgres://adpacer:" + canary + "@127.0.0.1:5432/db?sslmode=bogus",                  // unparsable option
		"host=127.0.0.1 port=1 password=" + canary + " connect_timeout=2 sslmode=disable",
	} {
		s, err := Open(context.Background(), dsn, Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open succeeded on %q", strings.ReplaceAll(dsn, canary, "***"))
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func storeAction(key string) adpacer.Action {
	v := adpacer.FromUnits(4000)
	return adpacer.Action{Key: adpacer.ActionKey(key), Campaign: "yandex_direct:1", Kind: adpacer.SetDailyBudget, Value: &v}
}
