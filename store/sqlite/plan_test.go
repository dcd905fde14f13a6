package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/internal/sqlstore"
)

// TestAuditSinceReadsTheIndex: the cycle reads the last day or two of the
// audit log on every pace and pull. SQLite must answer that from the at_us
// index, not by walking the whole log in seq order (which it prefers for a
// plain ORDER BY seq, and which made each read as slow as the log is long).
func TestAuditSinceReadsTheIndex(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, filepath.Join(t.TempDir(), "adpacer.db"), Options{})
	defer s.Close()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		if _, err := s.AppendAudit(ctx, store.AuditEntry{At: at.Add(time.Duration(i) * time.Hour), Actor: "engine", Kind: "set_bid"}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Reader().QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlstore.AuditSinceQuery, at.UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX audit_log_at") && !strings.Contains(p, "USING COVERING INDEX audit_log_at") {
		t.Errorf("audit read since a time does not use the at_us index: %s", p)
	}
	got, err := s.Audit(ctx, at.Add(47*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq >= got[1].Seq || got[1].Seq >= got[2].Seq {
		t.Errorf("audit since hour 47: %+v", got)
	}
}
