package yandexdirect

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/adpacer/adpacer"
	"go.uber.org/zap"
)

// Ads.get selection limits (api-notes §1.10): SelectionCriteria takes Ids
// (1-10,000), AdGroupIds (1-1,000) or CampaignIds (1-10), and at most
// 10,000 ads come back per page.
const (
	adIDsPerCall       = 10000
	adCampaignsPerCall = 10
)

// servingStates are the ad States worth reading: an ARCHIVED ad cannot
// serve, so it drops out of the moderation read (and out of the index).
var servingStates = []string{"ON", "OFF", "SUSPENDED", "OFF_BY_MONITORING"}

// KnownAdsFunc returns the ad statuses adpacer stored from earlier pulls;
// the daemon passes its store's AdStatuses. Only the Campaign and AdID of
// Yandex Direct entries are used, to seed the client's ad index after a
// restart; entries of other platforms or accounts are harmless (they never
// match a live campaign of this account).
type KnownAdsFunc func(ctx context.Context) ([]adpacer.AdStatus, error)

// adIndex is the client's memory of the account's ads. Selecting ads by
// Ids costs one Ads.get per 10,000 ads, selecting by CampaignIds one per 10
// campaigns: with the index a warm pull of 1,000 campaigns x 3 ads is one
// call instead of 100. Ads can only be found by campaign (or group), so
// campaigns not yet covered are discovered, and every AdsRediscovery all
// live campaigns are, to find ads created in covered campaigns.
type adIndex struct {
	mu sync.Mutex // held for a whole ads read: concurrent pulls queue
	// seeded: KnownAds was consulted (or is absent).
	seeded bool
	// read: the last successful moderation read (AdsInterval).
	read time.Time
	// discovered: the last read that selected every live campaign by
	// CampaignIds, or the seeding from KnownAds; zero means none yet.
	discovered time.Time
	ads        map[int64]int64 // ad id -> campaign id, serving ads seen
	covered    map[int64]bool  // campaigns whose ads have been discovered
}

type apiAd struct {
	ID                  int64  `json:"Id"`
	CampaignID          int64  `json:"CampaignId"`
	Status              string `json:"Status"`
	State               string `json:"State"`
	StatusClarification string `json:"StatusClarification"`
}

// pullAds returns the moderation status of the ads of the live campaigns,
// or nil ads and false when AdsInterval says the last read is recent
// enough.
//
// The selection is the cheapest one that stays complete:
//   - known ads of live campaigns by Ids, 10,000 per call;
//   - live campaigns whose ads were never discovered (new campaigns, a
//     first pull without KnownAds) by CampaignIds, 10 per call;
//   - every AdsRediscovery (default daily) all live campaigns by
//     CampaignIds, which finds ads created in known campaigns.
//
// The index is rebuilt from what came back, so an ad that was deleted or
// archived (Ids returns nothing for it) is dropped, as are the ads of
// campaigns that ended. A failed read leaves the index as it was.
func (c *Client) pullAds(ctx context.Context, live []int64, now time.Time) ([]adpacer.AdStatus, bool, error) {
	ix := &c.adIdx
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if c.cfg.AdsInterval > 0 && !ix.read.IsZero() && now.Sub(ix.read) < c.cfg.AdsInterval {
		return nil, false, nil
	}
	if !ix.seeded {
		if err := c.seedAds(ctx, now); err != nil {
			return nil, false, err
		}
	}
	liveSet := make(map[int64]bool, len(live))
	for _, id := range live {
		liveSet[id] = true
	}
	full := ix.discovered.IsZero() || now.Sub(ix.discovered) >= c.cfg.AdsRediscovery
	var byID, discover []int64
	if full {
		discover = live
	} else {
		for ad, camp := range ix.ads {
			if liveSet[camp] {
				byID = append(byID, ad)
			}
		}
		sort.Slice(byID, func(i, j int) bool { return byID[i] < byID[j] })
		for _, id := range live {
			if !ix.covered[id] {
				discover = append(discover, id)
			}
		}
	}
	var sels []map[string]any
	for ch := range slices.Chunk(byID, adIDsPerCall) {
		sels = append(sels, map[string]any{"Ids": ch, "States": servingStates})
	}
	for ch := range slices.Chunk(discover, adCampaignsPerCall) {
		sels = append(sels, map[string]any{"CampaignIds": ch, "States": servingStates})
	}
	raw, err := c.getAds(ctx, sels)
	if err != nil {
		return nil, false, err
	}

	covered := make(map[int64]bool, len(live))
	if !full {
		for id := range ix.covered {
			if liveSet[id] {
				covered[id] = true
			}
		}
	}
	for _, id := range discover {
		covered[id] = true
	}
	sort.Slice(raw, func(i, j int) bool {
		if raw[i].CampaignID != raw[j].CampaignID {
			return raw[i].CampaignID < raw[j].CampaignID
		}
		return raw[i].ID < raw[j].ID
	})
	ads := make(map[int64]int64, len(raw))
	out := make([]adpacer.AdStatus, 0, len(raw))
	for _, a := range raw {
		// A stale index entry may name the wrong campaign; the API's
		// answer wins, and only live campaigns' ads are reported.
		if _, dup := ads[a.ID]; dup || !liveSet[a.CampaignID] {
			continue
		}
		ads[a.ID] = a.CampaignID
		out = append(out, toAdStatus(a, now))
	}
	c.log.Debug("read ad moderation", zap.Bool("rediscovery", full), zap.Int("by_ids", len(byID)),
		zap.Int("discovered_campaigns", len(discover)), zap.Int("ads", len(out)), zap.Int("calls", len(sels)))
	ix.ads, ix.covered, ix.read = ads, covered, now
	if full {
		ix.discovered = now
	}
	return out, true, nil
}

// seedAds fills the index from KnownAds once. A failing KnownAds is logged
// and the pull falls back to discovery: that costs points, never data.
// Seeding counts as a discovery at now, so the next rediscovery is
// AdsRediscovery after the restart.
func (c *Client) seedAds(ctx context.Context, now time.Time) error {
	ix := &c.adIdx
	if c.knownAds == nil {
		ix.seeded = true
		return nil
	}
	known, err := c.knownAds(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("cannot read known ads; discovering them by campaign instead", zap.Error(err))
		ix.seeded = true
		return nil
	}
	ads := map[int64]int64{}
	covered := map[int64]bool{}
	bad := 0
	for _, s := range known {
		p, ext, err := s.Campaign.Split()
		if err != nil || p != adpacer.YandexDirect {
			continue
		}
		camp, err1 := strconv.ParseInt(ext, 10, 64)
		ad, err2 := strconv.ParseInt(s.AdID, 10, 64)
		if err1 != nil || err2 != nil || camp <= 0 || ad <= 0 {
			bad++
			continue
		}
		ads[ad] = camp
		covered[camp] = true
	}
	if bad > 0 {
		c.log.Warn("known ads with a malformed campaign or ad id were ignored; their campaigns will be discovered", zap.Int("ignored", bad))
	}
	ix.seeded = true
	if len(ads) > 0 {
		ix.ads, ix.covered, ix.discovered = ads, covered, now
	}
	return nil
}

// getAds runs one Ads.get (plus LimitedBy pages) per selection, with up to
// MaxInFlight calls at once, and returns every ad read.
func (c *Client) getAds(ctx context.Context, sels []map[string]any) ([]apiAd, error) {
	results := make([][]apiAd, len(sels))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	work := make(chan int)
	for w := 0; w < c.cfg.MaxInFlight && w < len(sels); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, err := c.getAdsPages(ctx, sels[i])
				if err != nil {
					// The first failure is the cause; later ones are
					// usually the cancellation it triggers.
					errOnce.Do(func() { firstErr = err })
					cancel()
					continue
				}
				results[i] = r
			}
		}()
	}
feed:
	for i := range sels {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []apiAd
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

func (c *Client) getAdsPages(ctx context.Context, sel map[string]any) ([]apiAd, error) {
	var out []apiAd
	offset := int64(0)
	for {
		params := map[string]any{
			"SelectionCriteria": sel,
			"FieldNames":        []string{"Id", "CampaignId", "Status", "State", "StatusClarification"},
			"Page":              map[string]int64{"Limit": pageLimit, "Offset": offset},
		}
		var res struct {
			Ads       []apiAd `json:"Ads"`
			LimitedBy int64   `json:"LimitedBy"`
		}
		if err := c.call(ctx, v5, "ads", "get", params, &res); err != nil {
			return nil, err
		}
		out = append(out, res.Ads...)
		if res.LimitedBy <= offset {
			return out, nil
		}
		offset = res.LimitedBy
	}
}

// toAdStatus normalises moderation. PREACCEPTED serves (a moderator will
// still check it), so it counts as accepted with a reason; unknown values
// are pending, never a crash.
func toAdStatus(a apiAd, now time.Time) adpacer.AdStatus {
	s := adpacer.AdStatus{
		Campaign: adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(a.CampaignID, 10)),
		AdID:     strconv.FormatInt(a.ID, 10), Reason: a.StatusClarification, At: now,
	}
	switch a.Status {
	case "ACCEPTED":
		s.Status = adpacer.ModerationAccepted
	case "PREACCEPTED":
		s.Status = adpacer.ModerationAccepted
		if s.Reason == "" {
			s.Reason = "preaccepted: serving, a moderator will still check it"
		}
	case "REJECTED":
		s.Status = adpacer.ModerationRejected
	case "DRAFT":
		s.Status = adpacer.ModerationDraft
	case "MODERATION":
		s.Status = adpacer.ModerationPending
		if a.State == "ON" && s.Reason == "" {
			s.Reason = "new version under moderation; the previous version keeps serving"
		}
	default:
		s.Status = adpacer.ModerationPending
		if s.Reason == "" {
			s.Reason = "unknown moderation status " + strconv.Quote(a.Status)
		}
	}
	return s
}
