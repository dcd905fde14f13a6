package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/postgres"
	"github.com/adpacer/adpacer/store/sqlite"
	"github.com/adpacer/adpacer/store/storetest"
)

// TestHoursBudgetKeepsAppliedFromAndThreshold: a general budget counts from
// appliedFrom, so both dialects must keep it (and the threshold) through a
// save, an update and a read; a malformed date is refused.
func TestHoursBudgetKeepsAppliedFromAndThreshold(t *testing.T) {
	open := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"postgres": func(t *testing.T) store.Store {
			s, err := postgres.Open(context.Background(), storetest.PostgresSchema(t, "adpacer_hb"), postgres.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, f := range open {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := f(t)
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			general := &adpacer.HoursBudget{Type: "time", Period: "general", BudgetSecs: 360000, Progress: 7200, AppliedFrom: "2026-09-15", Threshold: 80}
			save := func(ps ...adpacer.EverhourProject) error {
				return s.SaveTimeBatch(ctx, "eh", adpacer.TimeBatch{Projects: ps}, adpacer.Cursor{Value: "x"})
			}
			if err := save(adpacer.EverhourProject{ID: "tr:a", Name: "A", Budget: general}, adpacer.EverhourProject{ID: "tr:b", Name: "B"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.EverhourProjects(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []adpacer.EverhourProject{{ID: "tr:a", Name: "A", Budget: general}, {ID: "tr:b", Name: "B"}}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("projects (-want +got):\n%s", d)
			}
			// The budget becomes monthly upstream: the start and threshold go.
			monthly := &adpacer.HoursBudget{Type: "time", Period: "monthly", BudgetSecs: 360000}
			if err := save(adpacer.EverhourProject{ID: "tr:a", Name: "A", Budget: monthly}); err != nil {
				t.Fatal(err)
			}
			if got, err = s.EverhourProjects(ctx); err != nil || len(got) != 2 || cmp.Diff(monthly, got[0].Budget) != "" {
				t.Fatalf("after update: %+v, %v", got, err)
			}
			bad := &adpacer.HoursBudget{Type: "time", Period: "general", BudgetSecs: 1, AppliedFrom: "2026-09-15T00:00:00Z"}
			if err := save(adpacer.EverhourProject{ID: "tr:a", Name: "A", Budget: bad}); err == nil {
				t.Fatal("a malformed appliedFrom was stored")
			}
		})
	}
}
