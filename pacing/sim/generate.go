package sim

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/adpacer/adpacer"
)

// Auction response of pacing-notes 6.1: the highest competing price per
// auction is log-normal(mu, sigma) in currency units; a bid b wins with
// probability W(b) = Phi((ln b - mu)/sigma) and pays the expected competing
// price below b (second price).

// winProb is W(b).
func winProb(bid, mu, sigma float64) float64 {
	if bid <= 0 {
		return 0
	}
	return phi((math.Log(bid) - mu) / sigma)
}

// expectedPaid is E[M; M < b] = exp(mu + sigma^2/2) Phi((ln b - mu - sigma^2)/sigma),
// the expected payment per auction entered (zero when lost).
func expectedPaid(bid, mu, sigma float64) float64 {
	if bid <= 0 {
		return 0
	}
	return math.Exp(mu+sigma*sigma/2) * phi((math.Log(bid)-mu-sigma*sigma)/sigma)
}

// cpcAt is the expected cost per click at bid b.
func cpcAt(bid, mu, sigma float64) float64 {
	w := winProb(bid, mu, sigma)
	if w <= 1e-12 {
		return 0
	}
	return expectedPaid(bid, mu, sigma) / w
}

func generate(spec *ScenarioSpec, s *Scenario, regions []RegionSpec) ([]LineSpec, []CampaignSpec, error) {
	g := spec.Generate
	const p = "generate"
	if g.Campaigns <= 0 || g.Campaigns > 5000 {
		return nil, nil, fieldErr(p+".campaigns", "must be within 1..5000")
	}
	if g.Lines <= 0 || g.Lines > g.Campaigns {
		return nil, nil, fieldErr(p+".lines", "must be within 1..campaigns")
	}
	counts := [numPlatforms]int{}
	if len(g.Platforms) == 0 {
		counts[pYandex] = g.Campaigns / 2
		counts[pVK] = g.Campaigns / 3
		counts[pGoogle] = g.Campaigns - counts[pYandex] - counts[pVK]
	} else {
		total := 0
		for _, name := range sortedKeys(g.Platforms) {
			n := g.Platforms[name]
			pi := platformIndex(adpacer.Platform(name))
			if pi < 0 {
				return nil, nil, fieldErr(p+".platforms."+name, "unknown platform (want yandex_direct, google_ads or vk_ads)")
			}
			if n < 0 {
				return nil, nil, fieldErr(p+".platforms."+name, "must be >= 0")
			}
			counts[pi] = n
			total += n
		}
		if total != g.Campaigns {
			return nil, nil, fieldErr(p+".platforms", "counts add up to %d, not campaigns = %d", total, g.Campaigns)
		}
	}
	bmin, bmax := g.LineBudgetMin, g.LineBudgetMax
	if bmin == 0 && bmax == 0 {
		bmin, bmax = adpacer.FromUnits(600_000), adpacer.FromUnits(4_000_000)
	}
	if bmin <= 0 || bmax < bmin {
		return nil, nil, fieldErr(p+".line_budget_min", "need 0 < line_budget_min <= line_budget_max")
	}
	rmin, rmax := g.DemandRatioMin, g.DemandRatioMax
	if rmin == 0 && rmax == 0 {
		rmin, rmax = 1.3, 1.8
	}
	if rmin <= 0 || rmax < rmin || rmax > 20 {
		return nil, nil, fieldErr(p+".demand_ratio_min", "need 0 < demand_ratio_min <= demand_ratio_max <= 20")
	}
	if g.InfeasibleTargetLines < 0 || g.InfeasibleTargetLines > g.Lines {
		return nil, nil, fieldErr(p+".infeasible_target_lines", "must be within 0..lines")
	}
	dirs := g.Directorates
	if len(dirs) == 0 {
		dirs = []string{"retail", "mortgage", "cards", "sme"}
	}
	googleTZ := g.GoogleAccountTimeZone
	if googleTZ != "" && googleTZ != "region" {
		if _, err := s.zoneIndex(googleTZ); err != nil {
			return nil, nil, fieldErr(p+".google_account_timezone", "%v (or \"region\")", err)
		}
	}
	// Candidate regions, heaviest first.
	type cand struct {
		name string
		w    float64
	}
	var cands []cand
	if len(g.Regions) == 0 {
		for _, r := range regions {
			cands = append(cands, cand{r.Name, r.Weight})
		}
	} else {
		for i, name := range g.Regions {
			found := false
			for _, r := range regions {
				if r.Name == name {
					cands = append(cands, cand{r.Name, math.Max(r.Weight, 1e-6)})
					found = true
				}
			}
			if !found {
				return nil, nil, fieldErr(fmt.Sprintf("%s.regions[%d]", p, i), "unknown region %q", name)
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].w > cands[j].w })
	var wsum float64
	for _, c := range cands {
		wsum += c.w
	}
	if wsum <= 0 {
		return nil, nil, fieldErr(p+".regions", "all region weights are zero")
	}
	r := newRNG(g.Seed, purposeGenerate, 0, 0)
	pickRegion := func() string {
		x := r.float() * wsum
		for _, c := range cands {
			if x < c.w {
				return c.name
			}
			x -= c.w
		}
		return cands[len(cands)-1].name
	}
	uni := func(a, b float64) float64 { return a + (b-a)*r.float() }

	// Lines: every candidate region is the home of at least one line while
	// lines last, the rest by weight.
	lines := make([]LineSpec, g.Lines)
	home := make([]string, g.Lines)
	days := make([]int, g.Lines)
	for i := range lines {
		if i < len(cands) {
			home[i] = cands[i].name
		} else {
			home[i] = pickRegion()
		}
		dir := dirs[i%len(dirs)]
		budget := adpacer.FromFloat(uni(bmin.Float(), bmax.Float())).FloorTo(adpacer.FromUnits(1000))
		if budget < bmin {
			budget = bmin
		}
		lines[i] = LineSpec{ID: fmt.Sprintf("%s-%s-%02d", dir, home[i], i+1), Directorate: dir, Budget: budget}
		if len(g.Periods) > 0 {
			per := g.Periods[i%len(g.Periods)]
			lines[i].Period = &PeriodSpec{Start: per.Start, End: per.End}
			a, err1 := time.Parse(time.DateOnly, per.Start)
			b, err2 := time.Parse(time.DateOnly, per.End)
			if err1 != nil || err2 != nil || b.Before(a) {
				return nil, nil, fieldErr(fmt.Sprintf("%s.periods[%d]", p, i%len(g.Periods)), "want start <= end as YYYY-MM-DD")
			}
			days[i] = int(b.Sub(a)/(24*time.Hour)) + 1
		} else {
			m, err := time.Parse("2006-01", spec.Month)
			if err != nil {
				return nil, nil, fieldErr("month", "%q is not YYYY-MM (required by generate without periods)", spec.Month)
			}
			days[i] = m.AddDate(0, 1, -1).Day()
		}
	}
	// Campaigns: spread evenly over lines; platforms shuffled to the exact split.
	plats := make([]int, 0, g.Campaigns)
	for pi, n := range counts {
		for range n {
			plats = append(plats, pi)
		}
	}
	for i := len(plats) - 1; i > 0; i-- {
		j := int(r.next() % uint64(i+1))
		plats[i], plats[j] = plats[j], plats[i]
	}
	lineOf := make([]int, g.Campaigns)
	for i := range lineOf {
		lineOf[i] = i % g.Lines
	}
	share := make([]float64, g.Campaigns)
	lineShare := make([]float64, g.Lines)
	for i := range share {
		share[i] = uni(0.5, 1.5)
		lineShare[lineOf[i]] += share[i]
	}
	camps := make([]CampaignSpec, g.Campaigns)
	nextID := [numPlatforms]int{1000, 5000, 9000}
	cpaNum := make([]float64, g.Lines)
	cpaDen := make([]float64, g.Lines)
	for i := range camps {
		li := lineOf[i]
		pi := plats[i]
		region := home[li]
		if r.float() > 0.75 {
			region = pickRegion()
		}
		sh := share[i] / lineShare[li]
		budget := lines[li].Budget.Float() * sh
		daily := adpacer.FromFloat(budget / float64(days[li])).FloorTo(adpacer.FromUnits(100))
		if mb := s.Platforms[pi].MinDailyBudget; daily < mb {
			daily = mb
		}
		med := uni(20, 60)
		sigma := uni(0.35, 0.6)
		ctr := uni(0.03, 0.08)
		cvr := uni(0.02, 0.05)
		bid := med * uni(1.2, 1.8)
		mu := math.Log(med)
		perAuction := ctr * expectedPaid(bid, mu, sigma)
		ratio := uni(rmin, rmax)
		aph := budget * ratio / (float64(days[li]) * 24 * perAuction)
		id := nextID[pi]
		nextID[pi]++
		cs := CampaignSpec{
			ID: string(adpacer.NewCampaignID(platformOf[pi], fmt.Sprint(id))), Line: lines[li].ID, Region: region,
			DailyBudget: daily, Bid: adpacer.FromFloat(bid).RoundTo(100_000),
			AuctionsPerHour: math.Round(aph*10) / 10, CTR: round4(ctr), CVR: round4(cvr),
			PriceMedian: adpacer.FromFloat(med).RoundTo(10_000), PriceSigma: round4(sigma),
		}
		minBid := adpacer.FromUnits(1)
		maxBid := adpacer.FromFloat(med * 5).RoundTo(100_000)
		cs.MinBid, cs.MaxBid = &minBid, &maxBid
		if pi == pGoogle && googleTZ != "" && googleTZ != "region" {
			cs.AccountTimeZone = googleTZ
		}
		camps[i] = cs
		cpc := cpcAt(bid, mu, sigma)
		cpaNum[li] += sh
		cpaDen[li] += sh * cvr / cpc
	}
	infeasible := map[int]bool{}
	for len(infeasible) < g.InfeasibleTargetLines {
		infeasible[int(r.next()%uint64(g.Lines))] = true
	}
	for li := range lines {
		cpa := cpaNum[li] / cpaDen[li]
		f := uni(0.85, 1.20)
		if infeasible[li] {
			f = 0.55
		}
		t := adpacer.FromFloat(cpa * f).RoundTo(adpacer.FromUnits(10))
		lines[li].TargetCPA = &t
	}
	return lines, camps, nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
