package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

const alertCols = `key, card_id, fingerprint, severity, status, healthy_cycles, opened_us, updated_us, resolved_us, last_seen_us`

func scanAlert(r interface{ Scan(...any) error }) (adpacer.AlertState, error) {
	var a adpacer.AlertState
	var sev, status string
	var opened, updated, resolved, seen sql.NullInt64
	if err := r.Scan(&a.Key, &a.CardID, &a.Fingerprint, &sev, &status, &a.HealthyCycles, &opened, &updated, &resolved, &seen); err != nil {
		return a, err
	}
	a.Severity, a.Status = adpacer.Severity(sev), adpacer.AlertStatus(status)
	a.OpenedAt, a.UpdatedAt, a.ResolvedAt, a.LastSeenAt = fromUS(opened), fromUS(updated), fromUS(resolved), fromUS(seen)
	return a, nil
}

// GetAlert implements store.Store.
func (s *Store) GetAlert(ctx context.Context, key string) (adpacer.AlertState, error) {
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE key = ?`, key))
	if err == sql.ErrNoRows {
		return a, fmt.Errorf("%w: alert %q", store.ErrNotFound, key)
	}
	if err != nil {
		return a, s.readErr("alert", err)
	}
	return a, nil
}

// PutAlert implements store.Store.
func (s *Store) PutAlert(ctx context.Context, a adpacer.AlertState) error {
	if a.Key == "" {
		return store.Invalid("alert.key", "empty alert key")
	}
	switch a.Status {
	case adpacer.AlertOpen, adpacer.AlertResolved, adpacer.AlertSnoozed:
	default:
		return store.Invalid("alert.status", fmt.Sprintf("%q is not open, resolved or snoozed", a.Status))
	}
	if a.HealthyCycles < 0 {
		return store.Invalid("alert.healthy_cycles", "negative")
	}
	return s.write(ctx, "put alert "+a.Key, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO alerts (`+alertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET card_id = excluded.card_id, fingerprint = excluded.fingerprint, severity = excluded.severity,
			status = excluded.status, healthy_cycles = excluded.healthy_cycles, opened_us = excluded.opened_us,
			updated_us = excluded.updated_us, resolved_us = excluded.resolved_us, last_seen_us = excluded.last_seen_us`,
			a.Key, a.CardID, a.Fingerprint, string(a.Severity), string(a.Status), a.HealthyCycles,
			usArg(a.OpenedAt), usArg(a.UpdatedAt), usArg(a.ResolvedAt), usArg(a.LastSeenAt))
		return err
	})
}

// ListAlerts implements store.Store.
func (s *Store) ListAlerts(ctx context.Context) ([]adpacer.AlertState, error) {
	rows, err := s.query(ctx, `SELECT `+alertCols+` FROM alerts ORDER BY key`)
	if err != nil {
		return nil, s.readErr("alerts", err)
	}
	defer rows.Close()
	var out []adpacer.AlertState
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, s.readErr("alerts", err)
		}
		out = append(out, a)
	}
	return out, s.rowsErr("alerts", rows)
}

// LoadToken implements store.Store. The token text never appears in errors.
func (s *Store) LoadToken(ctx context.Context, name string) (adpacer.OAuthToken, error) {
	var t adpacer.OAuthToken
	var exp sql.NullInt64
	err := s.queryRow(ctx, `SELECT access_token, refresh_token, token_type, expiry_us FROM oauth_tokens WHERE name = ?`, name).
		Scan(&t.AccessToken, &t.RefreshToken, &t.TokenType, &exp)
	if err == sql.ErrNoRows {
		return t, fmt.Errorf("%w: oauth token %q", store.ErrNotFound, name)
	}
	if err != nil {
		return adpacer.OAuthToken{}, s.readErr("oauth token "+name, err)
	}
	t.Expiry = fromUS(exp)
	return t, nil
}

// SaveToken implements store.Store.
func (s *Store) SaveToken(ctx context.Context, name string, t adpacer.OAuthToken) error {
	if name == "" {
		return store.Invalid("name", "empty token name")
	}
	return s.write(ctx, "save oauth token "+name, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO oauth_tokens (name, access_token, refresh_token, token_type, expiry_us, updated_us)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET access_token = excluded.access_token,
			refresh_token = excluded.refresh_token, token_type = excluded.token_type, expiry_us = excluded.expiry_us,
			updated_us = excluded.updated_us`, name, t.AccessToken, t.RefreshToken, t.TokenType, usArg(t.Expiry), s.cfg.Now().UnixMicro())
		return err
	})
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if e.Actor == "" {
		return 0, store.Invalid("audit.actor", "empty actor; say who made or proposed the change")
	}
	if e.At.IsZero() {
		e.At = s.cfg.Now()
	}
	var seq int64
	err := s.write(ctx, "append audit", func(tx *sql.Tx) error {
		return s.txQueryRow(ctx, tx, `INSERT INTO audit_log (at_us, actor, action_key, campaign_id, kind, before, after, outcome, detail, approved_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, e.At.UnixMicro(), e.Actor, string(e.ActionKey), string(e.Campaign), e.Kind,
			microsArg(e.Before), microsArg(e.After), e.Outcome, e.Detail, e.ApprovedBy).Scan(&seq)
	})
	return seq, err
}

// The audit reads. The cycle reads the last day or two of a log that only
// grows, every few minutes; ordered by seq (the rowid), SQLite's planner
// prefers walking the whole table in rowid order to reading the at_us
// index and sorting, so every read cost the whole log. The unary plus
// keeps seq from satisfying the ORDER BY, and the index range wins. A read
// of everything walks the table in order. Exported for the plan test in
// store/sqlite.
const (
	auditCols       = `SELECT seq, at_us, actor, action_key, campaign_id, kind, before, after, outcome, detail, approved_by FROM audit_log`
	AuditAllQuery   = auditCols + ` ORDER BY seq`
	AuditSinceQuery = auditCols + ` WHERE at_us >= ? ORDER BY +seq`
)

// Audit implements store.Store.
func (s *Store) Audit(ctx context.Context, since time.Time, limit int) ([]store.AuditEntry, error) {
	query, args := AuditAllQuery, []any(nil)
	if !since.IsZero() {
		query, args = AuditSinceQuery, []any{since.UnixMicro()}
	}
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.readErr("audit", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		var key, campaign string
		var before, after sql.NullInt64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &key, &campaign, &e.Kind, &before, &after, &e.Outcome, &e.Detail, &e.ApprovedBy); err != nil {
			return nil, s.readErr("audit", err)
		}
		e.At, e.ActionKey, e.Campaign = time.UnixMicro(at).UTC(), adpacer.ActionKey(key), adpacer.CampaignID(campaign)
		e.Before, e.After = toMicros(before), toMicros(after)
		out = append(out, e)
	}
	return out, s.rowsErr("audit", rows)
}
