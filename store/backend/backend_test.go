package backend

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/adpacer/adpacer"
)

func TestOpenMigrateStatusBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.db")
	s, err := Open(ctx, Config{Driver: "sqlite", SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var buf bytes.Buffer
	st, _ := s.MigrationStatus(ctx)
	if err := WriteMigrationStatus(&buf, st); err != nil || !regexp.MustCompile(`0001\s+init\s+pending\s+-`).MatchString(buf.String()) {
		t.Fatalf("status before migrate:\n%s", buf.String())
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTimeBatch(ctx, "everhour", adpacer.TimeBatch{Users: []adpacer.EverhourUser{{ID: 1, Name: "Ivan"}}}, adpacer.Cursor{Value: "c"}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	st, _ = s.MigrationStatus(ctx)
	if err := WriteMigrationStatus(&buf, st); err != nil || !regexp.MustCompile(`0001\s+init\s+applied\s+\d{4}-`).MatchString(buf.String()) {
		t.Fatalf("status after migrate:\n%s", buf.String())
	}
	// Backup beside the running store (which holds the process lock).
	dst := filepath.Join(dir, "b.db")
	if err := Backup(ctx, path, dst); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, Config{Driver: "sqlite", SQLitePath: dst})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if cur, err := b.Cursor(ctx, "everhour"); err != nil || cur.Value != "c" {
		t.Fatalf("backup cursor %+v %v", cur, err)
	}
	if _, err := Open(ctx, Config{Driver: "mysql"}); err == nil || !strings.Contains(err.Error(), "unknown driver") {
		t.Errorf("unknown driver: %v", err)
	}
	if _, err := Open(ctx, Config{Driver: "postgres"}); err == nil || !strings.Contains(err.Error(), "store.postgres.dsn") {
		t.Errorf("postgres without dsn: %v", err)
	}
}
