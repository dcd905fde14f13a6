package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store/storetest"
)

func TestBackupRestoreWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openMigrated(t, filepath.Join(dir, "live.db"), Options{})
	defer s.Close()
	for i := 1; i <= 3; i++ {
		if err := s.SaveAdBatch(ctx, "crash", storetest.CrashBatch(i, 2), adpacer.Cursor{Value: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The daemon keeps writing during the backup.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 4; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.SaveAdBatch(ctx, "crash", storetest.CrashBatch(i, 2), adpacer.Cursor{Value: fmt.Sprint(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dst := filepath.Join(dir, "backup.db")
	err := s.Backup(ctx, dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{dst, filepath.Join(dir, "live.db"), filepath.Join(dir, "live.db-wal")} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600: it holds OAuth tokens", f, fi.Mode(), err)
		}
	}
	if _, err := os.Stat(dst + ".partial"); !os.IsNotExist(err) {
		t.Errorf("partial backup file left behind: %v", err)
	}
	if err := s.Backup(ctx, dst); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	// Restore: the backup file becomes a daemon's database.
	restored := filepath.Join(dir, "restored.db")
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n := verifyCrash(t, restored, 3)
	r := openMigrated(t, restored, Options{})
	defer r.Close()
	if err := r.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.MigrationStatus(ctx); !st[len(st)-1].Applied {
		t.Errorf("restored database lost its migration state: %+v", st)
	}
	t.Logf("backup holds %d batches", n)
}

func TestAuditAppendOnly(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Writer().ExecContext(ctx, `INSERT INTO audit_log (at_us, actor, action_key, campaign_id, kind, outcome, detail, approved_by)
		VALUES (1, 'engine', 'k', 'c', 'x', 'planned', '', '')`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET outcome = 'applied'`, `DELETE FROM audit_log`} {
		if _, err := s.Writer().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refusal", q, err)
		}
	}
}

func TestMigrationStatusFreshDatabase(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "fresh.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if m.Applied {
			t.Errorf("migration %d applied on a fresh database", m.Version)
		}
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ = s.MigrationStatus(context.Background())
	if !st[0].Applied || st[0].AppliedAt.Before(time.Now().Add(-time.Minute)) {
		t.Errorf("after Migrate: %+v", st)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, path := range []string{"", "/nonexistent-dir-adpacer/x.db", "a?b.db"} {
		if s, err := Open(context.Background(), path, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Writer().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (9999, 'from_the_future', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "schema is at version 9999") {
		t.Fatalf("Migrate on a newer schema = %v", err)
	}
}
