package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// CurrentEpoch implements store.Store.
func (s *Store) CurrentEpoch(ctx context.Context) (int64, error) {
	var e int64
	if err := s.queryRow(ctx, `SELECT epoch FROM leader WHERE id = 1`).Scan(&e); err != nil {
		return 0, s.readErr("leader epoch", err)
	}
	return e, nil
}

// BumpEpoch implements store.Store.
func (s *Store) BumpEpoch(ctx context.Context) (int64, error) {
	var e int64
	err := s.write(ctx, "bump leader epoch", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q(`UPDATE leader SET epoch = epoch + 1, updated_us = ? WHERE id = 1 RETURNING epoch`), s.cfg.Now().UnixMicro()).Scan(&e)
	})
	return e, err
}

// checkEpoch fences a former leader: the ledger write and the epoch check
// are in one transaction, and on PostgreSQL the shared row lock makes a
// concurrent BumpEpoch wait until this transaction ends.
func (s *Store) checkEpoch(ctx context.Context, tx *sql.Tx, epoch int64) error {
	query := `SELECT epoch FROM leader WHERE id = 1`
	if s.cfg.Dialect == Postgres {
		query += ` FOR SHARE`
	}
	var cur int64
	if err := tx.QueryRowContext(ctx, query).Scan(&cur); err != nil {
		return err
	}
	if cur != epoch {
		return fmt.Errorf("%w: leader epoch %d is stale (current %d): another replica leads now", store.ErrConflict, epoch, cur)
	}
	return nil
}

func validateAction(a adpacer.Action) error {
	if a.Key == "" {
		return store.Invalid("action.key", "empty action key")
	}
	if _, _, err := a.Campaign.Split(); err != nil {
		return store.Invalid("action.campaign", err.Error())
	}
	switch a.Kind {
	case adpacer.SetDailyBudget, adpacer.SetBid:
		if a.Value == nil {
			return store.Invalid("action.value", fmt.Sprintf("%s of %s needs a target value", a.Kind, a.Campaign))
		}
		if *a.Value < 0 {
			return store.Invalid("action.value", fmt.Sprintf("negative target %s", a.Value))
		}
	case adpacer.Pause, adpacer.Resume:
	default:
		return store.Invalid("action.kind", fmt.Sprintf("%q is not set_daily_budget, set_bid, pause or resume", a.Kind))
	}
	return nil
}

// PlanAction implements store.Store.
func (s *Store) PlanAction(ctx context.Context, a adpacer.Action, epoch int64) error {
	if err := validateAction(a); err != nil {
		return err
	}
	return s.write(ctx, "plan action "+string(a.Key), func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, epoch); err != nil {
			return err
		}
		var one int
		err := s.txQueryRow(ctx, tx, `SELECT 1 FROM actions WHERE key = ?`, string(a.Key)).Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: action key %q is already in the ledger", store.ErrConflict, a.Key)
		}
		if err != sql.ErrNoRows {
			return err
		}
		now := s.cfg.Now().UnixMicro()
		_, err = s.txExec(ctx, tx, `INSERT INTO actions (key, campaign_id, line_id, kind, value, previous, reason, state, before,
			detail, epoch, planned_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?, ?)`,
			string(a.Key), string(a.Campaign), a.Line, string(a.Kind), microsArg(a.Value), microsArg(a.Previous), a.Reason,
			string(adpacer.ActionPlanned), epoch, now, now)
		return err
	})
}

// transition moves key from one of the states in from to state to.
func (s *Store) transition(ctx context.Context, key adpacer.ActionKey, epoch int64, from []adpacer.ActionState, to adpacer.ActionState, set string, args ...any) error {
	return s.write(ctx, fmt.Sprintf("%s action %s", to, key), func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, epoch); err != nil {
			return err
		}
		return s.transitionTx(ctx, tx, key, epoch, from, to, set, args...)
	})
}

// transitionTx is transition inside tx, whose epoch the caller checked.
func (s *Store) transitionTx(ctx context.Context, tx *sql.Tx, key adpacer.ActionKey, epoch int64, from []adpacer.ActionState, to adpacer.ActionState, set string, args ...any) error {
	marks := make([]string, len(from))
	all := []any{string(to), epoch, s.cfg.Now().UnixMicro()}
	all = append(all, args...)
	all = append(all, string(key))
	for i, st := range from {
		marks[i] = "?"
		all = append(all, string(st))
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE actions SET state = ?, epoch = ?, updated_us = ?`+set+
		` WHERE key = ? AND state IN (`+strings.Join(marks, ", ")+`)`), all...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var cur string
	err = s.txQueryRow(ctx, tx, `SELECT state FROM actions WHERE key = ?`, string(key)).Scan(&cur)
	if err == sql.ErrNoRows {
		return fmt.Errorf("%w: action %q is not in the ledger", store.ErrNotFound, key)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: action %q is %s; %s needs it %s", store.ErrConflict, key, cur, to, joinStates(from))
}

func joinStates(ss []adpacer.ActionState) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// ClaimAction implements store.Store.
func (s *Store) ClaimAction(ctx context.Context, key adpacer.ActionKey, epoch int64) error {
	return s.transition(ctx, key, epoch, []adpacer.ActionState{adpacer.ActionPlanned, adpacer.ActionHeld}, adpacer.ActionClaimed, "")
}

// FinishAction implements store.Store.
func (s *Store) FinishAction(ctx context.Context, key adpacer.ActionKey, state adpacer.ActionState, before *adpacer.Micros, detail string, epoch int64) error {
	from, err := finishFrom(state)
	if err != nil {
		return err
	}
	return s.transition(ctx, key, epoch, from, state, `, before = ?, detail = ?`, microsArg(before), detail)
}

const actionCols = `key, campaign_id, line_id, kind, value, previous, reason, state, before, detail, epoch, planned_us, updated_us`

func scanAction(rows interface{ Scan(...any) error }) (store.ActionRecord, error) {
	var r store.ActionRecord
	var key, campaign, kind, state string
	var value, prev, before sql.NullInt64
	var planned, updated sql.NullInt64
	if err := rows.Scan(&key, &campaign, &r.Line, &kind, &value, &prev, &r.Reason, &state, &before, &r.Detail, &r.Epoch, &planned, &updated); err != nil {
		return r, err
	}
	r.Key, r.Campaign, r.Kind, r.State = adpacer.ActionKey(key), adpacer.CampaignID(campaign), adpacer.ActionKind(kind), adpacer.ActionState(state)
	r.Value, r.Previous, r.Before = toMicros(value), toMicros(prev), toMicros(before)
	r.PlannedAt, r.UpdatedAt = fromUS(planned), fromUS(updated)
	return r, nil
}

// Action implements store.Store.
func (s *Store) Action(ctx context.Context, key adpacer.ActionKey) (store.ActionRecord, error) {
	r, err := scanAction(s.queryRow(ctx, `SELECT `+actionCols+` FROM actions WHERE key = ?`, string(key)))
	if err == sql.ErrNoRows {
		return r, fmt.Errorf("%w: action %q", store.ErrNotFound, key)
	}
	if err != nil {
		return r, s.readErr("action", err)
	}
	return r, nil
}

func (s *Store) listActions(ctx context.Context, where string, args []any, order string, limit int) ([]store.ActionRecord, error) {
	query := `SELECT ` + actionCols + ` FROM actions` + where + ` ORDER BY ` + order
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.readErr("actions", err)
	}
	defer rows.Close()
	var out []store.ActionRecord
	for rows.Next() {
		r, err := scanAction(rows)
		if err != nil {
			return nil, s.readErr("actions", err)
		}
		out = append(out, r)
	}
	return out, s.rowsErr("actions", rows)
}

// Actions implements store.Store.
func (s *Store) Actions(ctx context.Context, f store.ActionFilter) ([]store.ActionRecord, error) {
	var conds []string
	var args []any
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			marks[i] = "?"
			args = append(args, string(st))
		}
		conds = append(conds, "state IN ("+strings.Join(marks, ", ")+")")
	}
	if f.Campaign != "" {
		conds = append(conds, "campaign_id = ?")
		args = append(args, string(f.Campaign))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "planned_us >= ?")
		args = append(args, f.Since.UnixMicro())
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	return s.listActions(ctx, where, args, "planned_us DESC, key", f.Limit)
}

// PendingActions implements store.Store.
func (s *Store) PendingActions(ctx context.Context) ([]store.ActionRecord, error) {
	return s.listActions(ctx, " WHERE state IN (?, ?, ?)", []any{string(adpacer.ActionPlanned), string(adpacer.ActionClaimed), string(adpacer.ActionHeld)}, "planned_us, key", 0)
}

// itemInvalid names the batch item a validation error belongs to.
func itemInvalid(i int, err error) error {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return store.Invalid(fmt.Sprintf("items[%d].%s", i, fe.Field), fe.Reason)
	}
	return err
}

func validateAudit(e *store.AuditEntry) error {
	if e != nil && e.Actor == "" {
		return store.Invalid("audit.actor", "empty actor; say who made or proposed the change")
	}
	return nil
}

const auditInsert = `INSERT INTO audit_log (at_us, actor, action_key, campaign_id, kind, before, after, outcome, detail, approved_by)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) auditArgs(e *store.AuditEntry) []any {
	at := e.At
	if at.IsZero() {
		at = s.cfg.Now()
	}
	return []any{at.UnixMicro(), e.Actor, string(e.ActionKey), string(e.Campaign), e.Kind,
		microsArg(e.Before), microsArg(e.After), e.Outcome, e.Detail, e.ApprovedBy}
}

// PlanActions implements store.Store. One statement per item inside one
// transaction: the cost that matters is the commit (an fsync on SQLite),
// and there is one.
func (s *Store) PlanActions(ctx context.Context, items []store.PlanItem, epoch int64) ([]adpacer.ActionKey, error) {
	for i, it := range items {
		if err := validateAction(it.Action); err != nil {
			return nil, itemInvalid(i, err)
		}
		switch it.State {
		case "", adpacer.ActionPlanned, adpacer.ActionHeld:
		default:
			return nil, store.Invalid(fmt.Sprintf("items[%d].state", i), fmt.Sprintf("%q: an action is recorded planned or held", it.State))
		}
		if err := validateAudit(it.Audit); err != nil {
			return nil, itemInvalid(i, err)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	var recorded []adpacer.ActionKey
	err := s.write(ctx, fmt.Sprintf("plan %d actions", len(items)), func(tx *sql.Tx) error {
		recorded = recorded[:0]
		if err := s.checkEpoch(ctx, tx, epoch); err != nil {
			return err
		}
		ins, err := s.txStmt(ctx, tx, `INSERT INTO actions (key, campaign_id, line_id, kind, value, previous, reason, state, before,
			detail, epoch, planned_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		aud, err := s.txStmt(ctx, tx, auditInsert)
		if err != nil {
			return err
		}
		defer aud.Close()
		now := s.cfg.Now().UnixMicro()
		for _, it := range items {
			a, state, before, detail := it.Action, adpacer.ActionPlanned, any(nil), ""
			if it.State == adpacer.ActionHeld {
				state, before, detail = adpacer.ActionHeld, microsArg(it.Before), it.Detail
			}
			res, err := ins.ExecContext(ctx, string(a.Key), string(a.Campaign), a.Line, string(a.Kind), microsArg(a.Value), microsArg(a.Previous),
				a.Reason, string(state), before, detail, epoch, now, now)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				continue // decided before: the key is in the ledger
			}
			recorded = append(recorded, a.Key)
			if it.Audit != nil {
				if _, err := aud.ExecContext(ctx, s.auditArgs(it.Audit)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// ClaimActions implements store.Store. The rows are updated in key order,
// so two processes claiming overlapping batches on PostgreSQL take the row
// locks in the same order and cannot deadlock; the state condition in the
// UPDATE is what refuses a second claim (PostgreSQL re-checks it on the
// committed row after waiting; SQLite has one writer at a time).
func (s *Store) ClaimActions(ctx context.Context, keys []adpacer.ActionKey, epoch int64) ([]adpacer.ActionKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	order := slices.Clone(keys)
	slices.Sort(order)
	order = slices.Compact(order)
	var claimed []adpacer.ActionKey
	err := s.write(ctx, fmt.Sprintf("claim %d actions", len(order)), func(tx *sql.Tx) error {
		claimed = claimed[:0]
		if err := s.checkEpoch(ctx, tx, epoch); err != nil {
			return err
		}
		upd, err := s.txStmt(ctx, tx, `UPDATE actions SET state = ?, epoch = ?, updated_us = ? WHERE key = ? AND state IN (?, ?)`)
		if err != nil {
			return err
		}
		defer upd.Close()
		now := s.cfg.Now().UnixMicro()
		won := make(map[adpacer.ActionKey]bool, len(order))
		for _, k := range order {
			res, err := upd.ExecContext(ctx, string(adpacer.ActionClaimed), epoch, now, string(k), string(adpacer.ActionPlanned), string(adpacer.ActionHeld))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				won[k] = true
				continue
			}
			var one int
			err = s.txQueryRow(ctx, tx, `SELECT 1 FROM actions WHERE key = ?`, string(k)).Scan(&one)
			if err == sql.ErrNoRows {
				return fmt.Errorf("%w: action %q is not in the ledger", store.ErrNotFound, k)
			}
			if err != nil {
				return err
			}
		}
		for _, k := range keys {
			if won[k] {
				claimed = append(claimed, k)
				delete(won, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// finishFrom is the states an outcome may be recorded from.
func finishFrom(state adpacer.ActionState) ([]adpacer.ActionState, error) {
	switch state {
	case adpacer.ActionApplied, adpacer.ActionNoop, adpacer.ActionFailed:
		return []adpacer.ActionState{adpacer.ActionClaimed}, nil
	case adpacer.ActionHeld, adpacer.ActionRejected:
		return []adpacer.ActionState{adpacer.ActionPlanned, adpacer.ActionClaimed, adpacer.ActionHeld}, nil
	}
	return nil, store.Invalid("state", fmt.Sprintf("%q is not applied, noop, failed, held or rejected", state))
}

// FinishActions implements store.Store.
func (s *Store) FinishActions(ctx context.Context, items []store.FinishItem, epoch int64) error {
	from := make([][]adpacer.ActionState, len(items))
	for i, it := range items {
		f, err := finishFrom(it.State)
		if err != nil {
			return itemInvalid(i, err)
		}
		if err := validateAudit(it.Audit); err != nil {
			return itemInvalid(i, err)
		}
		from[i] = f
	}
	if len(items) == 0 {
		return nil
	}
	return s.write(ctx, fmt.Sprintf("finish %d actions", len(items)), func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, epoch); err != nil {
			return err
		}
		aud, err := s.txStmt(ctx, tx, auditInsert)
		if err != nil {
			return err
		}
		defer aud.Close()
		for i, it := range items {
			if err := s.transitionTx(ctx, tx, it.Key, epoch, from[i], it.State, `, before = ?, detail = ?`, microsArg(it.Before), it.Detail); err != nil {
				return err
			}
			if it.Audit != nil {
				if _, err := aud.ExecContext(ctx, s.auditArgs(it.Audit)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
