package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/adpacer/adpacer"
)

// PostgreSQL bulk paths: one statement per record kind with array
// parameters (unnest), instead of a round trip per row. A batch may repeat
// a key; PostgreSQL refuses to upsert one row twice in a statement, so the
// last occurrence wins here, as it does with row-by-row upserts.

func lastWins[T any, K comparable](rows []T, key func(T) K) []T {
	seen := make(map[K]int, len(rows))
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		k := key(r)
		if i, ok := seen[k]; ok {
			out[i] = r
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out
}

func ptrMicros(m *adpacer.Micros) *int64 {
	if m == nil {
		return nil
	}
	v := int64(*m)
	return &v
}

func ptrUS(t interface {
	IsZero() bool
	UnixMicro() int64
}) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

func (s *Store) upsertCampaignsPG(ctx context.Context, tx *sql.Tx, source string, cs []adpacer.Campaign) (map[adpacer.CampaignID]int64, error) {
	cs = lastWins(cs, func(c adpacer.Campaign) adpacer.CampaignID { return c.ID })
	n := len(cs)
	ids, platforms, accounts, names, zones, currencies, states, strategies, sources := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	budgets, bids, updated := make([]*int64, n), make([]*int64, n), make([]*int64, n)
	edits := make([]int64, n)
	for i, c := range cs {
		ids[i], platforms[i], accounts[i], names[i], zones[i] = string(c.ID), string(c.ID.Platform()), c.AccountID, c.Name, c.TimeZone
		currencies[i], states[i], strategies[i], sources[i] = c.Currency, string(c.State), c.Strategy, source
		budgets[i], bids[i], updated[i], edits[i] = ptrMicros(c.DailyBudget), ptrMicros(c.Bid), ptrUS(c.UpdatedAt), int64(c.BudgetEditsToday)
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO campaigns
		(id, platform, account_id, name, time_zone, currency, state, daily_budget, bid, strategy, budget_edits_today, updated_us, source)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],
			$10::text[], $11::bigint[], $12::bigint[], $13::text[])
		ON CONFLICT (id) DO UPDATE SET platform = excluded.platform, account_id = excluded.account_id,
		name = excluded.name, time_zone = excluded.time_zone, currency = excluded.currency, state = excluded.state,
		daily_budget = excluded.daily_budget, bid = excluded.bid, strategy = excluded.strategy,
		budget_edits_today = excluded.budget_edits_today, updated_us = excluded.updated_us, source = excluded.source
		RETURNING id, key`, ids, platforms, accounts, names, zones, currencies, states, budgets, bids, strategies, edits, updated, sources)
	if err != nil {
		return nil, fmt.Errorf("upsert campaigns: %w", err)
	}
	defer rows.Close()
	keys := make(map[adpacer.CampaignID]int64, n)
	for rows.Next() {
		var id string
		var key int64
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		keys[adpacer.CampaignID(id)] = key
	}
	return keys, rows.Err()
}

func (s *Store) saveOtherStatsPG(ctx context.Context, tx *sql.Tx, stats []adpacer.Stat, keys map[adpacer.CampaignID]int64) error {
	type k3 struct{ key, start, end int64 }
	stats = lastWins(stats, func(st adpacer.Stat) k3 { return k3{keys[st.Campaign], st.Start.UnixMicro(), st.End.UnixMicro()} })
	n := len(stats)
	ck, starts, ends, costs, clicks, imps := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	convs := make([]float64, n)
	for i, st := range stats {
		ck[i], starts[i], ends[i], costs[i] = keys[st.Campaign], st.Start.UnixMicro(), st.End.UnixMicro(), int64(st.Cost)
		clicks[i], imps[i], convs[i] = st.Clicks, st.Impressions, st.Conversions
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO stats_other (campaign_key, start_us, end_us, cost, clicks, impressions, conversions)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[])
		ON CONFLICT (campaign_key, start_us, end_us) DO UPDATE SET cost = excluded.cost, clicks = excluded.clicks,
		impressions = excluded.impressions, conversions = excluded.conversions`, ck, starts, ends, costs, clicks, imps, convs)
	return err
}

func (s *Store) saveSnapshotsPG(ctx context.Context, tx *sql.Tx, sns []adpacer.SpendSnapshot) error {
	type k3 struct {
		id, day string
		at      int64
	}
	sns = lastWins(sns, func(sn adpacer.SpendSnapshot) k3 { return k3{string(sn.Campaign), sn.Day, sn.At.UnixMicro()} })
	n := len(sns)
	ids, days, ats, costs := make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, sn := range sns {
		ids[i], days[i], ats[i], costs[i] = string(sn.Campaign), sn.Day, sn.At.UnixMicro(), int64(sn.Cost)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO spend_snapshots (campaign_id, day, at_us, cost)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
		ON CONFLICT (campaign_id, day, at_us) DO UPDATE SET cost = excluded.cost`, ids, days, ats, costs)
	return err
}

func (s *Store) saveAdsPG(ctx context.Context, tx *sql.Tx, ads []adpacer.AdStatus) error {
	type k2 struct{ id, ad string }
	ads = lastWins(ads, func(a adpacer.AdStatus) k2 { return k2{string(a.Campaign), a.AdID} })
	n := len(ads)
	ids, adIDs, statuses, reasons, ats := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*int64, n)
	for i, a := range ads {
		ids[i], adIDs[i], statuses[i], reasons[i], ats[i] = string(a.Campaign), a.AdID, string(a.Status), a.Reason, ptrUS(a.At)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ad_statuses (campaign_id, ad_id, status, reason, at_us)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
		ON CONFLICT (campaign_id, ad_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, at_us = excluded.at_us`,
		ids, adIDs, statuses, reasons, ats)
	return err
}
