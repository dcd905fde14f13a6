package yandexdirect

import (
	"context"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
)

// bidCache remembers the campaign-level search bids of manual-strategy
// campaigns between pulls. KeywordBids.get takes 10 campaigns per call
// (15 points each), too dear for every 15-minute pull; bids only change
// when adpacer or a person sets them, so the pull re-reads them every
// BidsInterval and in between reports the cached value, which Apply keeps
// current after its own writes.
type bidCache struct {
	mu   sync.Mutex
	read time.Time
	bids map[int64]campaignBid
}

// pullBids returns the bids of the manual-strategy campaigns in ids, from
// the cache unless BidsInterval has passed since the last read.
func (c *Client) pullBids(ctx context.Context, ids []int64, now time.Time) (map[int64]campaignBid, error) {
	c.bids.mu.Lock()
	defer c.bids.mu.Unlock()
	fresh := c.bids.bids != nil && !c.bids.read.IsZero() && now.Sub(c.bids.read) < c.cfg.BidsInterval && !now.Before(c.bids.read)
	if !fresh {
		bids, err := c.campaignBids(ctx, ids)
		if err != nil {
			return nil, err
		}
		c.bids.bids, c.bids.read = bids, now
		return bids, nil
	}
	var missing []int64
	for _, id := range ids {
		if _, ok := c.bids.bids[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		more, err := c.campaignBids(ctx, missing)
		if err != nil {
			return nil, err
		}
		for id, b := range more {
			c.bids.bids[id] = b
		}
	}
	return c.bids.bids, nil
}

// noteBid records a bid Apply has set.
func (c *Client) noteBid(id int64, v adpacer.Micros) {
	c.bids.mu.Lock()
	defer c.bids.mu.Unlock()
	if c.bids.bids != nil {
		c.bids.bids[id] = campaignBid{bid: v, uniform: true}
	}
}
