package cycle

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// statsCache keeps the pace job's settled stats in memory between cycles.
// Every pace needs HistoryDays (35) of stats for the delivery profile, but
// a pull rewrites only its last few days (from its cursor's date minus
// RestatementDays): reading and decoding a month of stats from the store
// every cycle was the largest part of a pace. The cache holds the stats
// that start before a frontier a few days back (see settledFrontier);
// each cycle reads from the store only the stats that start after it.
//
// It is dropped whenever the store reports a write of a stat that starts
// before the frontier (store.StatsChangesSince, asked before any read), so
// a restatement of any age is seen in the next cycle, whoever wrote it:
// this runner's pull with an old cursor, another replica, a person's
// backfill. Its answer is always exactly what one Stats call over the
// whole range returns.
type statsCache struct {
	mu    sync.Mutex
	valid bool
	// rev is the store's stats revision read before the settled stats
	// were: every write after it is reported by StatsChangesSince(rev).
	rev int64
	ids []adpacer.CampaignID
	// settled holds the stats of ids that start before frontier and end
	// after from, ordered as Stats orders them.
	from, frontier time.Time
	settled        []adpacer.Stat
	// reloads counts full reads of the settled range (tests).
	reloads int
}

// settledFrontier is the first instant of the stats a pull may still
// rewrite in steady state, with a day to spare: PullAds asks from the UTC
// date of its previous pull (today or yesterday) minus RestatementDays,
// and the connector reads that date in the account's zone, which begins
// at most 14 hours before the UTC date does. Only speed depends on it: a
// write before it (a first pull after days down) just empties the cache.
func (r *Runner) settledFrontier(now time.Time) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(r.opt.RestatementDays + 2))
}

// read returns the stats of ids overlapping [from, now), ordered by
// campaign, start and end, as st.Stats(ctx, ids, from, now) does, reading
// from the store only what may have changed since the previous call.
func (c *statsCache) read(ctx context.Context, st store.Store, ids []adpacer.CampaignID, from, now, frontier time.Time) ([]adpacer.Stat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !frontier.After(from) || !now.After(frontier) {
		// Nothing settled in the range: one read of all of it.
		c.valid, c.settled = false, nil
		return st.Stats(ctx, ids, from, now)
	}
	// Asked before any read: a write committed after this answer is
	// reported by the next one, and every write before it is seen by the
	// reads below.
	ch, err := st.StatsChangesSince(ctx, c.rev)
	if err != nil {
		c.valid, c.settled = false, nil
		return nil, fmt.Errorf("stats changes: %w", err)
	}
	keep := c.valid && ch.Complete &&
		(ch.Earliest.IsZero() || !ch.Earliest.Before(c.frontier)) &&
		slices.Equal(ids, c.ids) && !from.Before(c.from) && !frontier.Before(c.frontier)
	c.valid = false // until the settled part is whole again
	if !keep {
		c.reloads++
		// Every stat this returns starts before frontier.
		settled, err := st.Stats(ctx, ids, from, frontier)
		if err != nil {
			c.settled = nil
			return nil, err
		}
		c.settled = settled
	} else {
		if frontier.After(c.frontier) {
			// The frontier moved on (a new day): settle the stats that
			// start between the old and the new one. Those starting
			// before the old one are held already.
			more, err := st.Stats(ctx, ids, c.frontier, frontier)
			if err != nil {
				c.settled = nil
				return nil, err
			}
			c.settled = mergeByCampaign(c.settled, startingFrom(more, c.frontier))
		}
		// The history window moved on: forget what ended before it.
		c.settled = slices.DeleteFunc(c.settled, func(s adpacer.Stat) bool { return !s.End.After(from) })
	}
	c.valid, c.rev, c.ids, c.from, c.frontier = true, ch.Revision, slices.Clone(ids), from, frontier
	recent, err := st.Stats(ctx, ids, frontier, now)
	if err != nil {
		return nil, err
	}
	// A stat starting before the frontier and ending after it (a daily
	// report in a zone east of UTC) is returned by both reads: it is
	// settled, so it is taken from the settled part only.
	return mergeByCampaign(c.settled, startingFrom(recent, frontier)), nil
}

// startingFrom keeps the stats that start at or after t.
func startingFrom(stats []adpacer.Stat, t time.Time) []adpacer.Stat {
	return slices.DeleteFunc(stats, func(s adpacer.Stat) bool { return s.Start.Before(t) })
}

// mergeByCampaign merges two lists ordered by campaign, start and end in
// which every stat of a campaign in early starts before every stat of
// that campaign in late, so the result keeps that order. The runs of early
// before each campaign of late are found by binary search and copied
// whole.
func mergeByCampaign(early, late []adpacer.Stat) []adpacer.Stat {
	out := make([]adpacer.Stat, 0, len(early)+len(late))
	i := 0
	for j := 0; j < len(late); {
		c := late[j].Campaign
		n, _ := slices.BinarySearchFunc(early[i:], c, func(e adpacer.Stat, c adpacer.CampaignID) int {
			if e.Campaign <= c {
				return -1 // the campaign's settled stats go first
			}
			return 1
		})
		out = append(out, early[i:i+n]...)
		i += n
		k := j + 1
		for k < len(late) && late[k].Campaign == c {
			k++
		}
		out = append(out, late[j:k]...)
		j = k
	}
	return append(out, early[i:]...)
}
