package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
	"github.com/adpacer/adpacer/store/internal/weekblock"
)

func validateAdBatch(b adpacer.AdBatch) error {
	zones := map[string]bool{}
	for i, c := range b.Campaigns {
		f := func(name string) string { return fmt.Sprintf("campaigns[%d].%s", i, name) }
		if _, _, err := c.ID.Split(); err != nil {
			return store.Invalid(f("id"), err.Error())
		}
		if !validCurrency(c.Currency) {
			return store.Invalid(f("currency"), fmt.Sprintf("%q of campaign %s is not an ISO 4217 code such as RUB", c.Currency, c.ID))
		}
		if c.TimeZone != "" && !zones[c.TimeZone] {
			if _, err := time.LoadLocation(c.TimeZone); err != nil {
				return store.Invalid(f("time_zone"), fmt.Sprintf("%q of campaign %s is not an IANA zone such as Europe/Moscow", c.TimeZone, c.ID))
			}
			zones[c.TimeZone] = true
		}
		switch c.State {
		case adpacer.StateOn, adpacer.StatePaused, adpacer.StateEnded, adpacer.StateRejected:
		default:
			return store.Invalid(f("state"), fmt.Sprintf("%q of campaign %s is not on, paused, ended or rejected", c.State, c.ID))
		}
		if c.DailyBudget != nil && *c.DailyBudget < 0 {
			return store.Invalid(f("daily_budget"), fmt.Sprintf("negative daily budget %s of campaign %s", c.DailyBudget, c.ID))
		}
		if c.Bid != nil && *c.Bid < 0 {
			return store.Invalid(f("bid"), fmt.Sprintf("negative bid %s of campaign %s", c.Bid, c.ID))
		}
		if c.BudgetEditsToday < 0 {
			return store.Invalid(f("budget_edits_today"), "negative")
		}
	}
	for i, st := range b.Stats {
		f := func(name string) string { return fmt.Sprintf("stats[%d].%s", i, name) }
		switch {
		case st.Campaign == "":
			return store.Invalid(f("campaign"), "empty campaign id")
		case !st.End.After(st.Start):
			return store.Invalid(f("end"), fmt.Sprintf("end %s is not after start %s (campaign %s)", st.End.Format(time.RFC3339), st.Start.Format(time.RFC3339), st.Campaign))
		case st.Cost < 0:
			return store.Invalid(f("cost"), fmt.Sprintf("negative cost %s (campaign %s at %s)", st.Cost, st.Campaign, st.Start.Format(time.RFC3339)))
		case st.Clicks < 0:
			return store.Invalid(f("clicks"), fmt.Sprintf("negative clicks (campaign %s)", st.Campaign))
		case st.Impressions < 0:
			return store.Invalid(f("impressions"), fmt.Sprintf("negative impressions (campaign %s)", st.Campaign))
		case st.Conversions < 0 || math.IsNaN(st.Conversions) || math.IsInf(st.Conversions, 0):
			return store.Invalid(f("conversions"), fmt.Sprintf("conversions %v are negative or not finite (campaign %s)", st.Conversions, st.Campaign))
		}
	}
	for i, sn := range b.Snapshots {
		f := func(name string) string { return fmt.Sprintf("snapshots[%d].%s", i, name) }
		switch {
		case sn.Campaign == "":
			return store.Invalid(f("campaign"), "empty campaign id")
		case !validDate(sn.Day):
			return store.Invalid(f("day"), fmt.Sprintf("%q is not a date YYYY-MM-DD", sn.Day))
		case sn.At.IsZero():
			return store.Invalid(f("at"), "zero time")
		case sn.Cost < 0:
			return store.Invalid(f("cost"), fmt.Sprintf("negative cost %s (campaign %s)", sn.Cost, sn.Campaign))
		}
	}
	for i, a := range b.Ads {
		f := func(name string) string { return fmt.Sprintf("ads[%d].%s", i, name) }
		switch {
		case a.Campaign == "":
			return store.Invalid(f("campaign"), "empty campaign id")
		case a.AdID == "":
			return store.Invalid(f("ad_id"), "empty ad id")
		}
		switch a.Status {
		case adpacer.ModerationAccepted, adpacer.ModerationPending, adpacer.ModerationRejected, adpacer.ModerationDraft:
		default:
			return store.Invalid(f("status"), fmt.Sprintf("%q is not accepted, pending, rejected or draft", a.Status))
		}
	}
	return nil
}

// SaveAdBatch implements store.Store.
func (s *Store) SaveAdBatch(ctx context.Context, source string, b adpacer.AdBatch, cur adpacer.Cursor) error {
	if source == "" {
		return store.Invalid("source", "empty source name")
	}
	if err := validateAdBatch(b); err != nil {
		return err
	}
	return s.write(ctx, "save ad batch of "+source, func(tx *sql.Tx) error {
		if err := s.checkLineCurrencies(ctx, tx, b.Campaigns); err != nil {
			return err
		}
		keys, err := s.upsertCampaigns(ctx, tx, source, b.Campaigns)
		if err != nil {
			return err
		}
		var missing []string
		need := func(id adpacer.CampaignID) {
			if _, ok := keys[id]; !ok {
				keys[id] = 0
				missing = append(missing, string(id))
			}
		}
		for _, st := range b.Stats {
			need(st.Campaign)
		}
		for _, sn := range b.Snapshots {
			need(sn.Campaign)
		}
		for _, a := range b.Ads {
			need(a.Campaign)
		}
		if len(missing) > 0 {
			if err := s.lookupKeys(ctx, tx, missing, keys); err != nil {
				return err
			}
		}
		if err := s.saveStats(ctx, tx, b.Stats, keys); err != nil {
			return err
		}
		if err := s.saveSnapshots(ctx, tx, b.Snapshots, keys); err != nil {
			return err
		}
		if err := s.saveAds(ctx, tx, b.Ads, keys); err != nil {
			return err
		}
		return s.saveCursor(ctx, tx, source, cur)
	})
}

// checkLineCurrencies refuses a campaign whose currency differs from a
// budget line it currently belongs to: summing roubles into a dollar budget
// would pace on nonsense.
func (s *Store) checkLineCurrencies(ctx context.Context, tx *sql.Tx, cs []adpacer.Campaign) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = string(c.ID)
	}
	cond, arg := s.inText("m.campaign_id", ids)
	rows, err := s.txQuery(ctx, tx, `SELECT m.campaign_id, l.id, l.currency, m.effective_to_us
		FROM budget_line_campaigns m JOIN budget_lines l ON l.id = m.line_id WHERE `+cond, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	type line struct {
		id, currency string
		to           sql.NullInt64
	}
	lines := map[string][]line{}
	for rows.Next() {
		var cid string
		var l line
		if err := rows.Scan(&cid, &l.id, &l.currency, &l.to); err != nil {
			return err
		}
		lines[cid] = append(lines[cid], l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, c := range cs {
		for _, l := range lines[string(c.ID)] {
			if l.to.Valid && !c.UpdatedAt.IsZero() && l.to.Int64 <= c.UpdatedAt.UnixMicro() {
				continue // membership ended before this observation
			}
			if l.currency != c.Currency {
				return store.Invalid(fmt.Sprintf("campaigns[%d].currency", i),
					fmt.Sprintf("campaign %s is in %s but its budget line %q is in %s; move the campaign to a line in %s or fix the line's currency", c.ID, c.Currency, l.id, l.currency, c.Currency))
			}
		}
	}
	return nil
}

func (s *Store) upsertCampaigns(ctx context.Context, tx *sql.Tx, source string, cs []adpacer.Campaign) (map[adpacer.CampaignID]int64, error) {
	keys := make(map[adpacer.CampaignID]int64, len(cs))
	if len(cs) == 0 {
		return keys, nil
	}
	if s.cfg.Dialect == Postgres {
		return s.upsertCampaignsPG(ctx, tx, source, cs)
	}
	stmt, err := s.txStmt(ctx, tx, `INSERT INTO campaigns
		(id, platform, account_id, name, time_zone, currency, state, daily_budget, bid, strategy, budget_edits_today, updated_us, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET platform = excluded.platform, account_id = excluded.account_id,
		name = excluded.name, time_zone = excluded.time_zone, currency = excluded.currency, state = excluded.state,
		daily_budget = excluded.daily_budget, bid = excluded.bid, strategy = excluded.strategy,
		budget_edits_today = excluded.budget_edits_today, updated_us = excluded.updated_us, source = excluded.source
		RETURNING key`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, c := range cs {
		var key int64
		if err := stmt.QueryRowContext(ctx, string(c.ID), string(c.ID.Platform()), c.AccountID, c.Name, c.TimeZone, c.Currency,
			string(c.State), microsArg(c.DailyBudget), microsArg(c.Bid), c.Strategy, c.BudgetEditsToday, usArg(c.UpdatedAt), source).Scan(&key); err != nil {
			return nil, fmt.Errorf("upsert campaign %s: %w", c.ID, err)
		}
		keys[c.ID] = key
	}
	return keys, nil
}

// lookupKeys fills keys for ids; ids not in the store keep key 0.
func (s *Store) lookupKeys(ctx context.Context, q queryer, ids []string, keys map[adpacer.CampaignID]int64) error {
	cond, arg := s.inText("id", ids)
	rows, err := q.QueryContext(ctx, s.q(`SELECT id, key FROM campaigns WHERE `+cond), arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var key int64
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		keys[adpacer.CampaignID(id)] = key
	}
	return rows.Err()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func unknownCampaign(field string, id adpacer.CampaignID) error {
	return store.Invalid(field, fmt.Sprintf("unknown campaign %s: save the campaign (in this batch or an earlier one) before its data", id))
}

// isHourly reports whether st covers exactly one whole UTC hour; those are
// packed into week blocks, everything else is a row of stats_other.
func isHourly(st adpacer.Stat) bool {
	return st.End.Sub(st.Start) == time.Hour && st.Start.Unix()%3600 == 0 && st.Start.Nanosecond() == 0
}

type blockKey struct {
	week int64
	key  int64
}

type hourUpdate struct {
	slot int
	val  weekblock.Slot
}

func (s *Store) saveStats(ctx context.Context, tx *sql.Tx, stats []adpacer.Stat, keys map[adpacer.CampaignID]int64) error {
	if len(stats) == 0 {
		return nil
	}
	groups := map[blockKey][]hourUpdate{}
	var other []int
	for i, st := range stats {
		key := keys[st.Campaign]
		if key == 0 {
			return unknownCampaign(fmt.Sprintf("stats[%d].campaign", i), st.Campaign)
		}
		if !isHourly(st) {
			other = append(other, i)
			continue
		}
		week, slot := weekblock.Locate(st.Start.Unix())
		bk := blockKey{week, key}
		groups[bk] = append(groups[bk], hourUpdate{slot, weekblock.Slot{Cost: int64(st.Cost), Clicks: st.Clicks, Impressions: st.Impressions, Conversions: st.Conversions}})
	}
	if s.cfg.Dialect == Postgres {
		// A transaction-scoped advisory lock serializes stats writes
		// across replicas: two read-modify-writes of one hourly block
		// cannot lose hours, and the stats revision (recordStatsChange)
		// is numbered in commit order without gaps. Row locks on
		// thousands of blocks (SELECT ... FOR UPDATE) cost more than the
		// rare wait on this lock.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7262734)`); err != nil {
			return err
		}
	}
	if len(groups) > 0 {
		order := make([]blockKey, 0, len(groups))
		for k := range groups {
			order = append(order, k)
		}
		// A fixed lock order keeps concurrent PostgreSQL writers from
		// deadlocking on the same blocks.
		sort.Slice(order, func(i, j int) bool {
			if order[i].week != order[j].week {
				return order[i].week < order[j].week
			}
			return order[i].key < order[j].key
		})
		var err error
		if s.cfg.Dialect == Postgres {
			err = s.mergeBlocksPG(ctx, tx, order, groups)
		} else {
			err = s.mergeBlocksSQLite(ctx, tx, order, groups)
		}
		if err != nil {
			return err
		}
	}
	if err := s.recordStatsChange(ctx, tx, stats); err != nil {
		return err
	}
	if len(other) > 0 && s.cfg.Dialect == Postgres {
		rows := make([]adpacer.Stat, len(other))
		for j, i := range other {
			rows[j] = stats[i]
		}
		return s.saveOtherStatsPG(ctx, tx, rows, keys)
	}
	if len(other) > 0 {
		stmt, err := s.txStmt(ctx, tx, `INSERT INTO stats_other (campaign_key, start_us, end_us, cost, clicks, impressions, conversions)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_key, start_us, end_us) DO UPDATE SET
			cost = excluded.cost, clicks = excluded.clicks, impressions = excluded.impressions, conversions = excluded.conversions`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, i := range other {
			st := stats[i]
			if _, err := stmt.ExecContext(ctx, keys[st.Campaign], st.Start.UnixMicro(), st.End.UnixMicro(), int64(st.Cost), st.Clicks, st.Impressions, st.Conversions); err != nil {
				return fmt.Errorf("upsert stat of %s at %s: %w", st.Campaign, st.Start.Format(time.RFC3339), err)
			}
		}
	}
	return nil
}

func applyUpdates(data []byte, ups []hourUpdate, buf []byte) ([]byte, error) {
	var b weekblock.Block
	if err := b.Decode(data); err != nil {
		return nil, err
	}
	for _, u := range ups {
		b.Set(u.slot, u.val) // later rows of the batch win, as with row upserts
	}
	return b.Encode(buf[:0])
}

func (s *Store) mergeBlocksSQLite(ctx context.Context, tx *sql.Tx, order []blockKey, groups map[blockKey][]hourUpdate) error {
	sel, err := s.txStmt(ctx, tx, `SELECT data FROM stats_hourly WHERE wk = ?`)
	if err != nil {
		return err
	}
	defer sel.Close()
	up, err := s.txStmt(ctx, tx, `INSERT INTO stats_hourly (wk, week, campaign_key, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (wk) DO UPDATE SET data = excluded.data`)
	if err != nil {
		return err
	}
	defer up.Close()
	for _, bk := range order {
		if bk.key >= 1<<32 || bk.key <= 0 {
			return fmt.Errorf("campaign key %d out of the range the SQLite schema packs into wk", bk.key)
		}
	}
	var buf []byte
	for lo := 0; lo < len(order); {
		// order is sorted by (week, key): [lo, hi) is one week.
		hi := lo
		for hi < len(order) && order[hi].week == order[lo].week {
			hi++
		}
		week := order[lo].week
		// Many campaigns in one week (the hourly pull of a big account):
		// one range scan instead of a point query per block.
		var existing map[int64][]byte
		if hi-lo > 32 {
			existing = make(map[int64][]byte, hi-lo)
			rows, err := s.txQuery(ctx, tx, `SELECT wk, data FROM stats_hourly WHERE wk >= ? AND wk <= ?`,
				week<<32|order[lo].key, week<<32|order[hi-1].key)
			if err != nil {
				return err
			}
			for rows.Next() {
				var wk int64
				var data []byte
				if err := rows.Scan(&wk, &data); err != nil {
					rows.Close()
					return err
				}
				existing[wk] = data
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for _, bk := range order[lo:hi] {
			wk := bk.week<<32 | bk.key
			var data []byte
			if existing != nil {
				data = existing[wk]
			} else if err := sel.QueryRowContext(ctx, wk).Scan(&data); err != nil && err != sql.ErrNoRows {
				return err
			}
			out, err := applyUpdates(data, groups[bk], buf)
			if err != nil {
				return fmt.Errorf("hourly stats block week %d campaign key %d: %w", bk.week, bk.key, err)
			}
			buf = out
			if bytes.Equal(out, data) {
				// A re-pull mostly restates hours as they were: the
				// block is unchanged, and rewriting it would only add
				// its pages to the WAL.
				continue
			}
			if _, err := up.ExecContext(ctx, wk, bk.week, bk.key, out); err != nil {
				return err
			}
		}
		lo = hi
	}
	return nil
}

// mergeBlocksPG merges in two round trips whatever the batch size, under
// the advisory lock saveStats takes (so two read-modify-writes of one block
// cannot lose hours): one SELECT reads every affected block, one INSERT ...
// ON CONFLICT writes them all back.
func (s *Store) mergeBlocksPG(ctx context.Context, tx *sql.Tx, order []blockKey, groups map[blockKey][]hourUpdate) error {
	weeks := make([]int64, len(order))
	ks := make([]int64, len(order))
	for i, bk := range order {
		weeks[i], ks[i] = bk.week, bk.key
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.week, s.campaign_key, s.data FROM stats_hourly s
		JOIN unnest($1::bigint[], $2::bigint[]) AS u(w, k) ON s.week = u.w AND s.campaign_key = u.k`, weeks, ks)
	if err != nil {
		return err
	}
	current := make(map[blockKey][]byte, len(order))
	for rows.Next() {
		var bk blockKey
		var data []byte
		if err := rows.Scan(&bk.week, &bk.key, &data); err != nil {
			rows.Close()
			return err
		}
		current[bk] = data
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	blobs := make([][]byte, len(order))
	for i, bk := range order {
		out, err := applyUpdates(current[bk], groups[bk], nil)
		if err != nil {
			return fmt.Errorf("hourly stats block week %d campaign key %d: %w", bk.week, bk.key, err)
		}
		blobs[i] = out
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO stats_hourly (week, campaign_key, data)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
		ON CONFLICT (week, campaign_key) DO UPDATE SET data = excluded.data`, weeks, ks, blobs)
	return err
}

// recordStatsChange appends the batch's revision and earliest start to
// stats_changes, in the batch's transaction, and drops rows beyond the
// newest StatsChangesKept. Writers are serialized (SQLite's one writer,
// PostgreSQL's advisory lock in saveStats), so MAX(rev) + 1 numbers them
// in commit order without gaps, which StatsChangesSince relies on.
func (s *Store) recordStatsChange(ctx context.Context, tx *sql.Tx, stats []adpacer.Stat) error {
	earliest := stats[0].Start
	for _, st := range stats[1:] {
		if st.Start.Before(earliest) {
			earliest = st.Start
		}
	}
	var rev int64
	if err := s.txQueryRow(ctx, tx, `INSERT INTO stats_changes (rev, earliest_us)
		SELECT COALESCE(MAX(rev), 0) + 1, CAST(? AS BIGINT) FROM stats_changes RETURNING rev`, earliest.UnixMicro()).Scan(&rev); err != nil {
		return fmt.Errorf("record stats change: %w", err)
	}
	if _, err := s.txExec(ctx, tx, `DELETE FROM stats_changes WHERE rev <= ?`, rev-int64(s.cfg.StatsChangesKept)); err != nil {
		return fmt.Errorf("prune stats changes: %w", err)
	}
	return nil
}

// StatsChangesSince implements store.Store. One statement, so one
// snapshot on either engine: the revision and the changes agree.
func (s *Store) StatsChangesSince(ctx context.Context, since int64) (store.StatsChanges, error) {
	var last, first int64
	var earliest sql.NullInt64
	err := s.queryRow(ctx, `SELECT COALESCE(MAX(rev), 0), COALESCE(MIN(rev), 0),
		MIN(CASE WHEN rev > ? THEN earliest_us END) FROM stats_changes`, since).Scan(&last, &first, &earliest)
	if err != nil {
		return store.StatsChanges{}, s.readErr("stats changes", err)
	}
	ch := store.StatsChanges{Revision: last}
	// Revisions are gapless and pruning drops the oldest, so the rows
	// after since are all here when since is at most one below the
	// first kept row.
	ch.Complete = since == last || (since < last && since >= first-1)
	if ch.Complete && earliest.Valid {
		ch.Earliest = time.UnixMicro(earliest.Int64).UTC()
	}
	return ch, nil
}

func (s *Store) saveSnapshots(ctx context.Context, tx *sql.Tx, sns []adpacer.SpendSnapshot, keys map[adpacer.CampaignID]int64) error {
	if len(sns) == 0 {
		return nil
	}
	for i, sn := range sns {
		if keys[sn.Campaign] == 0 {
			return unknownCampaign(fmt.Sprintf("snapshots[%d].campaign", i), sn.Campaign)
		}
	}
	if s.cfg.Dialect == Postgres {
		return s.saveSnapshotsPG(ctx, tx, sns)
	}
	stmt, err := s.txStmt(ctx, tx, `INSERT INTO spend_snapshots (campaign_id, day, at_us, cost) VALUES (?, ?, ?, ?)
		ON CONFLICT (campaign_id, day, at_us) DO UPDATE SET cost = excluded.cost`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, sn := range sns {
		if _, err := stmt.ExecContext(ctx, string(sn.Campaign), sn.Day, sn.At.UnixMicro(), int64(sn.Cost)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) saveAds(ctx context.Context, tx *sql.Tx, ads []adpacer.AdStatus, keys map[adpacer.CampaignID]int64) error {
	if len(ads) == 0 {
		return nil
	}
	for i, a := range ads {
		if keys[a.Campaign] == 0 {
			return unknownCampaign(fmt.Sprintf("ads[%d].campaign", i), a.Campaign)
		}
	}
	if s.cfg.Dialect == Postgres {
		return s.saveAdsPG(ctx, tx, ads)
	}
	stmt, err := s.txStmt(ctx, tx, `INSERT INTO ad_statuses (campaign_id, ad_id, status, reason, at_us) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (campaign_id, ad_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, at_us = excluded.at_us`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, a := range ads {
		if _, err := stmt.ExecContext(ctx, string(a.Campaign), a.AdID, string(a.Status), a.Reason, usArg(a.At)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) saveCursor(ctx context.Context, tx *sql.Tx, source string, cur adpacer.Cursor) error {
	_, err := s.txExec(ctx, tx, `INSERT INTO cursors (source, value, updated_us) VALUES (?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us`, source, cur.Value, usArg(cur.UpdatedAt))
	return err
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, source string) (adpacer.Cursor, error) {
	var c adpacer.Cursor
	var at sql.NullInt64
	err := s.queryRow(ctx, `SELECT value, updated_us FROM cursors WHERE source = ?`, source).Scan(&c.Value, &at)
	if err == sql.ErrNoRows {
		return adpacer.Cursor{}, nil
	}
	if err != nil {
		return c, s.readErr("cursor of "+source, err)
	}
	c.UpdatedAt = fromUS(at)
	return c, nil
}

// Campaigns implements store.Store.
func (s *Store) Campaigns(ctx context.Context) ([]adpacer.Campaign, error) {
	rows, err := s.query(ctx, `SELECT id, account_id, name, time_zone, currency, state, daily_budget, bid, strategy, budget_edits_today, updated_us
		FROM campaigns ORDER BY id`)
	if err != nil {
		return nil, s.readErr("campaigns", err)
	}
	defer rows.Close()
	var out []adpacer.Campaign
	for rows.Next() {
		var c adpacer.Campaign
		var id, state string
		var budget, bid, at sql.NullInt64
		if err := rows.Scan(&id, &c.AccountID, &c.Name, &c.TimeZone, &c.Currency, &state, &budget, &bid, &c.Strategy, &c.BudgetEditsToday, &at); err != nil {
			return nil, s.readErr("campaigns", err)
		}
		c.ID, c.State = adpacer.CampaignID(id), adpacer.CampaignState(state)
		c.DailyBudget, c.Bid, c.UpdatedAt = toMicros(budget), toMicros(bid), fromUS(at)
		out = append(out, c)
	}
	return out, s.rowsErr("campaigns", rows)
}

func (s *Store) rowsErr(what string, rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		return s.readErr(what, err)
	}
	return nil
}

// campaignSet resolves ids (nil: all) to keys and ids ordered by id.
func (s *Store) campaignSet(ctx context.Context, ids []adpacer.CampaignID) (map[int64]adpacer.CampaignID, []int64, error) {
	byKey := map[int64]adpacer.CampaignID{}
	var rows *sql.Rows
	var err error
	if ids == nil {
		rows, err = s.query(ctx, `SELECT id, key FROM campaigns ORDER BY id`)
	} else {
		cond, arg := s.inText("id", idStrings(ids))
		rows, err = s.query(ctx, `SELECT id, key FROM campaigns WHERE `+cond+` ORDER BY id`, arg)
	}
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var order []int64
	for rows.Next() {
		var id string
		var key int64
		if err := rows.Scan(&id, &key); err != nil {
			return nil, nil, err
		}
		byKey[key] = adpacer.CampaignID(id)
		order = append(order, key)
	}
	return byKey, order, rows.Err()
}

// scanBlocks calls fn for every hourly block of the selected campaigns in
// weeks [w0, w1]; data is only valid during the call.
func (s *Store) scanBlocks(ctx context.Context, all bool, keys []int64, w0, w1 int64, fn func(week, key int64, data []byte) error) error {
	query := `SELECT week, campaign_key, data FROM stats_hourly WHERE week >= ? AND week <= ?`
	args := []any{w0, w1}
	if s.cfg.Dialect == SQLite {
		// A rowid range scan: wk orders rows by (week, campaign).
		query = `SELECT week, campaign_key, data FROM stats_hourly WHERE wk >= ? AND wk <= ?`
		args = []any{w0 << 32, w1<<32 | (1<<32 - 1)}
	}
	if !all {
		cond, arg := s.inInt("campaign_key", keys)
		query += " AND " + cond
		args = append(args, arg)
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var week, key int64
		var data sql.RawBytes
		if err := rows.Scan(&week, &key, &data); err != nil {
			return err
		}
		if err := fn(week, key, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Store) scanOther(ctx context.Context, all bool, keys []int64, from, to time.Time, fn func(key int64, st adpacer.Stat)) error {
	query := `SELECT campaign_key, start_us, end_us, cost, clicks, impressions, conversions FROM stats_other WHERE start_us < ? AND end_us > ?`
	args := []any{to.UnixMicro(), from.UnixMicro()}
	if !all {
		cond, arg := s.inInt("campaign_key", keys)
		query += " AND " + cond
		args = append(args, arg)
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, start, end, cost int64
		var st adpacer.Stat
		if err := rows.Scan(&key, &start, &end, &cost, &st.Clicks, &st.Impressions, &st.Conversions); err != nil {
			return err
		}
		st.Start, st.End, st.Cost = time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC(), adpacer.Micros(cost)
		fn(key, st)
	}
	return rows.Err()
}

func weekRange(from, to time.Time) (int64, int64) {
	w0, _ := weekblock.Locate(floorHour(from).Unix())
	w1, _ := weekblock.Locate(floorHour(to.Add(-time.Nanosecond)).Unix())
	return w0, w1
}

func floorHour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context, ids []adpacer.CampaignID, from, to time.Time) ([]adpacer.Stat, error) {
	if !to.After(from) {
		return nil, store.Invalid("to", fmt.Sprintf("%s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339)))
	}
	byKey, keys, err := s.campaignSet(ctx, ids)
	if err != nil {
		return nil, s.readErr("stats", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	all := ids == nil
	var out []adpacer.Stat
	w0, w1 := weekRange(from, to)
	fromU, toU := from.Unix(), to.Unix()
	if to.Nanosecond() != 0 {
		toU++
	}
	err = s.scanBlocks(ctx, all, keys, w0, w1, func(week, key int64, data []byte) error {
		id, ok := byKey[key]
		if !ok {
			return nil
		}
		base := weekblock.WeekStart(week)
		return weekblock.Walk(data, func(h int, sl weekblock.Slot) {
			start := base + int64(h)*3600
			if start >= toU || start+3600 <= fromU {
				return
			}
			out = append(out, adpacer.Stat{Campaign: id, Start: time.Unix(start, 0).UTC(), End: time.Unix(start+3600, 0).UTC(),
				Cost: adpacer.Micros(sl.Cost), Clicks: sl.Clicks, Impressions: sl.Impressions, Conversions: sl.Conversions})
		})
	})
	if err != nil {
		return nil, s.readErr("stats", err)
	}
	err = s.scanOther(ctx, all, keys, from, to, func(key int64, st adpacer.Stat) {
		if id, ok := byKey[key]; ok {
			st.Campaign = id
			out = append(out, st)
		}
	})
	if err != nil {
		return nil, s.readErr("stats", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Campaign != b.Campaign {
			return a.Campaign < b.Campaign
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.End.Before(b.End)
	})
	return out, nil
}

// PacingHistory implements store.Store.
func (s *Store) PacingHistory(ctx context.Context, ids []adpacer.CampaignID, from, to time.Time) (*store.PacingHistory, error) {
	from = floorHour(from)
	if t := floorHour(to); !t.Equal(to.UTC()) {
		to = t.Add(time.Hour)
	}
	if !to.After(from) {
		return nil, store.Invalid("to", fmt.Sprintf("%s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339)))
	}
	hours := int(to.Sub(from) / time.Hour)
	byKey, keys, err := s.campaignSet(ctx, ids)
	if err != nil {
		return nil, s.readErr("pacing history", err)
	}
	n := len(keys)
	h := &store.PacingHistory{From: from, Hours: hours, Campaigns: make([]store.CampaignHistory, n)}
	index := make(map[int64]int, n)
	for i, k := range keys {
		index[k] = i
		h.Campaigns[i].Campaign = byKey[k]
	}
	if n == 0 {
		return h, nil
	}
	all := ids == nil
	w0, w1 := weekRange(from, to)
	firstHour := from.Unix() / 3600
	// Campaigns are read in chunks of neighbouring keys, all weeks of a
	// chunk in one statement. Reading the whole range in one scan comes
	// week by week (the SQLite rowid orders rows by week, then campaign)
	// and writes 1.3 KB into each of 10,000 campaigns' arrays per week: a
	// stride through 200 MB that misses the cache on every run. A chunk's
	// arrays (32 campaigns x 35 days x 3 measures, 650 KB) are allocated,
	// so zeroed, just before its rows arrive and stay in cache while they
	// are decoded. Two readers take half of the chunks each, so each
	// campaign's arrays are written by one goroutine only; and each
	// campaign's weeks come from one statement, so a restatement committed
	// during the read is seen whole or not at all for that campaign.
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	chunks := keyChunks(sorted)
	halves := [][2]int{{0, len(chunks)}}
	if len(chunks) > 1 {
		halves = [][2]int{{0, len(chunks) / 2}, {len(chunks) / 2, len(chunks)}}
	}
	errs := make([]error, len(halves))
	var wg sync.WaitGroup
	for hi, half := range halves {
		wg.Go(func() {
			errs[hi] = s.readChunks(ctx, h, index, sorted, chunks[half[0]:half[1]], w0, w1, firstHour)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, s.readErr("pacing history", err)
	}
	err = s.scanOther(ctx, all, keys, from, to, func(key int64, st adpacer.Stat) {
		if i, ok := index[key]; ok {
			st.Campaign = byKey[key]
			h.Campaigns[i].Other = append(h.Campaigns[i].Other, st)
		}
	})
	if err != nil {
		return nil, s.readErr("pacing history", err)
	}
	for i := range h.Campaigns {
		o := h.Campaigns[i].Other
		sort.Slice(o, func(a, b int) bool { return o[a].Start.Before(o[b].Start) })
	}
	return h, nil
}

// chunkCampaigns bounds a chunk of the pacing read: its arrays stay in
// cache, and a chunk's key range spans at most twice as many keys, so a
// read of scattered campaigns does not scan the rows of many others.
const chunkCampaigns = 32

// keyChunks splits sorted keys into [lo, hi) index ranges.
func keyChunks(sorted []int64) [][2]int {
	var out [][2]int
	for lo := 0; lo < len(sorted); {
		hi := lo + 1
		for hi < len(sorted) && hi-lo < chunkCampaigns && sorted[hi]-sorted[lo] < 2*chunkCampaigns {
			hi++
		}
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	return out
}

// readChunks reads and decodes the hourly blocks of the campaigns in
// chunks (ranges of sorted) for weeks [w0, w1] into h. Each chunk's arrays
// are allocated (and so zeroed) just before its rows are decoded into
// them, while they are still in cache.
func (s *Store) readChunks(ctx context.Context, h *store.PacingHistory, index map[int64]int, sorted []int64, chunks [][2]int, w0, w1, firstHour int64) error {
	if len(chunks) == 0 {
		return nil
	}
	hours, words := h.Hours, (h.Hours+63)/64
	conn, err := s.cfg.Reader.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// One range of the primary key per week: on SQLite a rowid range
	// (wk = week<<32 | campaign key), on PostgreSQL an index range of
	// (week, campaign_key). SQLite returns wk alone, which carries both.
	pg := s.cfg.Dialect == Postgres
	query := `WITH RECURSIVE w(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM w WHERE x < ?)
		SELECT s.wk, s.data FROM w, stats_hourly s
		WHERE s.wk BETWEEN w.x * 4294967296 + ? AND w.x * 4294967296 + ?`
	if pg {
		query = `SELECT s.week, s.campaign_key, s.data FROM generate_series(?::bigint, ?::bigint) AS w(x)
			JOIN stats_hourly s ON s.week = w.x AND s.campaign_key BETWEEN ? AND ?`
	}
	stmt, err := conn.PrepareContext(ctx, s.q(query))
	if err != nil {
		return err
	}
	defer stmt.Close()
	dense := make([]weekblock.Dense[adpacer.Micros], chunkCampaigns)
	// Scan destinations live outside the row loop: Scan's arguments
	// escape, and 60,000 rows would otherwise allocate them each time.
	var week, key, wk int64
	var data sql.RawBytes
	for _, ch := range chunks {
		keys := sorted[ch[0]:ch[1]]
		m := len(keys)
		cost := make([]adpacer.Micros, m*hours)
		clicks := make([]int64, m*hours)
		conv := make([]float64, m*hours)
		present := make([]uint64, m*words)
		for j, k := range keys {
			c := &h.Campaigns[index[k]]
			c.Cost = cost[j*hours : (j+1)*hours : (j+1)*hours]
			c.Clicks = clicks[j*hours : (j+1)*hours : (j+1)*hours]
			c.Conversions = conv[j*hours : (j+1)*hours : (j+1)*hours]
			c.Present = present[j*words : (j+1)*words : (j+1)*words]
			dense[j] = weekblock.Dense[adpacer.Micros]{Cost: c.Cost, Clicks: c.Clicks, Conversions: c.Conversions, Present: c.Present}
		}
		rows, err := stmt.QueryContext(ctx, w0, w1, keys[0], keys[m-1])
		if err != nil {
			return err
		}
		for rows.Next() {
			if pg {
				err = rows.Scan(&week, &key, &data)
			} else {
				err = rows.Scan(&wk, &data)
				week, key = wk>>32, wk&(1<<32-1)
			}
			if err != nil {
				rows.Close()
				return err
			}
			j, ok := slices.BinarySearch(keys, key)
			if !ok {
				continue // between two read campaigns' keys
			}
			if err := weekblock.DecodeDense(data, int(weekblock.WeekStart(week)/3600-firstHour), dense[j]); err != nil {
				rows.Close()
				return fmt.Errorf("hourly stats block week %d of campaign %s: %w", week, h.Campaigns[index[key]].Campaign, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// SpendSnapshotsByCampaignQuery reads one day's snapshots of a list of
// campaigns along SQLite's primary key (the automatic index of the
// WITHOUT ROWID table). Exported for the plan test in store/sqlite.
const SpendSnapshotsByCampaignQuery = `SELECT campaign_id, at_us, cost FROM spend_snapshots INDEXED BY sqlite_autoindex_spend_snapshots_1
	WHERE day = ? AND campaign_id IN (SELECT value FROM json_each(?)) ORDER BY campaign_id, at_us`

// SpendSnapshots implements store.Store.
func (s *Store) SpendSnapshots(ctx context.Context, ids []adpacer.CampaignID, day string) ([]adpacer.SpendSnapshot, error) {
	query := `SELECT campaign_id, at_us, cost FROM spend_snapshots WHERE day = ?`
	args := []any{day}
	if ids != nil {
		cond, arg := s.inText("campaign_id", idStrings(ids))
		query += " AND " + cond
		args = append(args, arg)
	}
	query += ` ORDER BY campaign_id, at_us`
	if ids != nil && s.cfg.Dialect == SQLite {
		// The pace reads the day's snapshots of its campaigns every
		// cycle. SQLite's planner takes the day index and then looks each
		// row up in the table for its cost; the primary key (campaign,
		// day, at) holds the rows in order, cost included.
		query = SpendSnapshotsByCampaignQuery
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.readErr("spend snapshots", err)
	}
	defer rows.Close()
	var out []adpacer.SpendSnapshot
	for rows.Next() {
		var sn adpacer.SpendSnapshot
		var id string
		var at, cost int64
		if err := rows.Scan(&id, &at, &cost); err != nil {
			return nil, s.readErr("spend snapshots", err)
		}
		sn.Campaign, sn.Day, sn.At, sn.Cost = adpacer.CampaignID(id), day, time.UnixMicro(at).UTC(), adpacer.Micros(cost)
		out = append(out, sn)
	}
	return out, s.rowsErr("spend snapshots", rows)
}

// AdStatuses implements store.Store.
func (s *Store) AdStatuses(ctx context.Context) ([]adpacer.AdStatus, error) {
	rows, err := s.query(ctx, `SELECT campaign_id, ad_id, status, reason, at_us FROM ad_statuses ORDER BY campaign_id, ad_id`)
	if err != nil {
		return nil, s.readErr("ad statuses", err)
	}
	defer rows.Close()
	var out []adpacer.AdStatus
	for rows.Next() {
		var a adpacer.AdStatus
		var id, status string
		var at sql.NullInt64
		if err := rows.Scan(&id, &a.AdID, &status, &a.Reason, &at); err != nil {
			return nil, s.readErr("ad statuses", err)
		}
		a.Campaign, a.Status, a.At = adpacer.CampaignID(id), adpacer.ModerationStatus(status), fromUS(at)
		out = append(out, a)
	}
	return out, s.rowsErr("ad statuses", rows)
}
