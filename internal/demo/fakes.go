package demo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/everhour/everhourtest"
	"github.com/adpacer/adpacer/connectors/googleads/googleadstest"
	"github.com/adpacer/adpacer/connectors/trello/trellotest"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/adpacer/adpacer/internal/clock"
	"github.com/adpacer/adpacer/pacing/sim"
)

// Demo credentials. They are printed so a person can point curl at the
// fakes while the demo runs; they are worthless outside this process.
const (
	yandexLogin   = "bank-demo"
	yandexToken   = "demo-yandex-token"
	vkAccount     = "bank-demo-vk"
	vkClientID    = "demo-vk-client"
	vkSecret      = "demo-vk-client-secret"
	googleRefresh = "demo-google-refresh-token"
	trelloKey     = "demo-trello-key"
	trelloToken   = "demo-trello-token"
	everhourKey   = "demo-everhour-key"
	manager       = "anna.pm"
	// rejection quotes what a real moderation verdict on a loan ad says.
	rejection = "The ad does not state the full cost of credit: advertisements of loans must show the range of interest rates (from 9.9% to 29.9% per annum) and all other conditions that affect the cost, in legible type (Federal Law 38-FZ \"On Advertising\", art. 28)."
)

var specialists = []string{"ivan.ppc", "olga.ppc", "sergey.analyst"}

type fakes struct {
	yandex   *yandexdirecttest.Server
	google   *googleadstest.Server
	vk       *vkadstest.Server
	trello   *trellotest.Server
	everhour *everhourtest.Server

	customers map[string][]int64 // google customer id -> campaign ids
	zoneOf    map[string]string  // google customer id -> zone
	yandexAds map[int64]int64    // campaign -> ad
	rejected  map[adpacer.CampaignID]bool

	alertBoard, projectBoard trellotest.Board
	cards                    []string
	project                  string
	users                    []int64
	rng                      *rand.Rand
	loggedDays               map[string]bool
	loggedSeconds            int64
	approvalSeen             map[string]time.Time
}

func startFakes(sh *shared, sc *sim.Scenario, clock *clock.Manual) (*fakes, error) {
	f := &fakes{customers: map[string][]int64{}, zoneOf: map[string]string{}, yandexAds: map[int64]int64{},
		rejected: map[adpacer.CampaignID]bool{}, rng: rand.New(rand.NewPCG(20261101, 7)),
		loggedDays: map[string]bool{}, approvalSeen: map[string]time.Time{}}
	f.yandex = yandexdirecttest.New(yandexdirecttest.Options{Clock: clock, Spend: yandexSpend{sh}, ModerationDelay: 10 * time.Minute, Seed: 1})
	f.yandex.AddAdvertiser(yandexLogin, yandexToken)
	f.yandex.OnWrite(sh.applyYandex)
	f.vk = vkadstest.New(vkadstest.Options{Clock: clock, Spend: vkSpend{sh}})
	f.vk.AddAdvertiser(vkAccount, vkClientID, vkSecret)
	f.vk.OnWrite(sh.applyVK)

	zones := map[string]bool{}
	for _, c := range sc.Campaigns {
		if c.Platform == adpacer.GoogleAds {
			zones[c.TimeZone] = true
		}
	}
	zoneList := make([]string, 0, len(zones))
	for z := range zones {
		zoneList = append(zoneList, z)
	}
	sort.Strings(zoneList)
	locs := map[string]*time.Location{}
	for i, z := range zoneList {
		cid := fmt.Sprintf("77700000%02d", i+1)
		f.zoneOf[cid] = z
		loc, err := time.LoadLocation(z)
		if err != nil {
			return nil, err
		}
		locs[cid] = loc
	}
	var err error
	f.google, err = googleadstest.Start(googleadstest.Options{Now: clock.Now, Spend: googleSpend{s: sh, zones: locs}})
	if err != nil {
		return nil, err
	}
	f.google.AddRefreshToken(googleRefresh)
	f.google.OnMutate(sh.applyGoogle)
	for cid, z := range f.zoneOf {
		if err := f.google.AddCustomer(googleadstest.Customer{ID: cid, Name: "Bank (" + z + ")", TimeZone: z, Currency: "RUB", MinDailyBudgetMicros: 1_000_000}); err != nil {
			return nil, err
		}
	}
	for _, c := range sc.Campaigns {
		p, ext, err := c.ID.Split()
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(ext, 10, 64)
		if err != nil {
			return nil, err
		}
		switch p {
		case adpacer.YandexDirect:
			f.yandex.AddCampaign(yandexLogin, yandexdirecttest.Campaign{ID: id, Name: "Loans " + string(c.ID), TimeZone: c.TimeZone,
				DailyBudget: &yandexdirecttest.DailyBudget{Amount: int64(c.DailyBudget), Mode: "STANDARD"}, Keywords: 5, SearchBid: int64(c.Bid)})
			f.yandexAds[id] = f.yandex.AddAd(yandexdirecttest.Ad{ID: id * 100, CampaignID: id, Status: "ACCEPTED", State: "ON"})
		case adpacer.VKAds:
			f.vk.AddAdPlan(vkAccount, vkadstest.AdPlan{ID: id, Name: "Loans " + ext, BudgetLimitDay: int64(c.DailyBudget)})
		case adpacer.GoogleAds:
			cust := ""
			for k, z := range f.zoneOf {
				if z == c.TimeZone {
					cust = k
				}
			}
			f.customers[cust] = append(f.customers[cust], id)
			if err := f.google.AddBudget(cust, googleadstest.Budget{ID: id, Name: "Budget " + ext, AmountMicros: int64(c.DailyBudget), Status: "ENABLED"}); err != nil {
				return nil, err
			}
			if err := f.google.AddCampaign(cust, googleadstest.Campaign{ID: id, Name: "Loans " + ext, Status: "ENABLED", BudgetID: id, BiddingStrategyType: "MANUAL_CPC", ChannelType: "SEARCH"}); err != nil {
				return nil, err
			}
			if err := f.google.AddAdGroup(cust, googleadstest.AdGroup{ID: id * 10, CampaignID: id, Name: "Main", Status: "ENABLED", CPCBidMicros: int64(c.Bid)}); err != nil {
				return nil, err
			}
			if err := f.google.AddAd(cust, googleadstest.Ad{ID: id * 100, AdGroupID: id * 10, Status: "ENABLED", Approval: "APPROVED", Review: "REVIEWED"}); err != nil {
				return nil, err
			}
		}
	}

	f.trello = trellotest.NewServer(trellotest.Options{Now: clock.Now, Key: trelloKey, Token: trelloToken, Username: "adpacer-bot"})
	f.alertBoard = f.trello.CreateBoard(trellotest.BoardSpec{Name: "Bank — budget alerts",
		Lists: []string{"Alerts", "Approvals", "Approved", "Rejected", "Resolved"}, Members: []string{manager}})
	f.projectBoard = f.trello.CreateBoard(trellotest.BoardSpec{Name: "Bank — project board",
		Lists:   []string{"Backlog", "This sprint", "In progress", "Review", "Done"},
		Labels:  map[string]string{"urgent": "red", "high": "orange", "normal": "blue"},
		Members: append([]string{manager}, specialists...)})
	tasks := []string{"Rewrite loan ads with the full rate disclaimer", "Weekly bid review, Far East", "Set up Metrica goals for applications",
		"Director's spend report by city", "New banners for card campaign", "Negative keywords cleanup", "A/B test of landing pages",
		"Budget split for the mortgage directorate", "Google Ads account audit", "Stand-up notes and sprint planning"}
	for i, name := range tasks {
		list := []string{"This sprint", "In progress", "Review", "Backlog"}[i%4]
		ids, err := f.trello.AddCards(f.projectBoard.Lists[list], name, 1)
		if err != nil {
			return nil, err
		}
		f.cards = append(f.cards, ids...)
	}

	f.everhour = everhourtest.NewServer(everhourtest.Options{APIKey: everhourKey, Now: clock.Now, Location: sh.msk})
	f.project = "tr:" + f.projectBoard.ID
	if err := f.everhour.AddProject(everhourtest.Project{ID: f.project, Name: "Bank — performance marketing",
		Budget: &everhourtest.Budget{Type: "time", Budget: 360 * 3600, Period: "monthly"}}); err != nil {
		return nil, err
	}
	for _, s := range specialists {
		f.users = append(f.users, f.everhour.AddUser(s, s+"@agency.example"))
	}
	for i, card := range f.cards {
		if _, err := f.everhour.AddTrelloCardTask(card, tasks[i], f.project); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *fakes) close() {
	f.yandex.Close()
	f.google.Close()
	f.vk.Close()
	f.trello.Close()
	f.everhour.Close()
}

func (f *fakes) googleWrites() int { return f.google.Calls().Mutate }

// writes counts, per platform, the write requests the ad-platform fakes
// received past authentication (Yandex and VK mutations, Google mutates).
func (f *fakes) writes() map[adpacer.Platform]int {
	return map[adpacer.Platform]int{adpacer.YandexDirect: f.yandex.MutatingCalls(), adpacer.GoogleAds: f.googleWrites(), adpacer.VKAds: f.vk.MutatingCalls()}
}

func (f *fakes) endpoints(status string) Endpoints {
	return Endpoints{Status: status, Yandex: f.yandex.URL() + "/json/v5/", Google: f.google.URL(), GoogleToken: f.google.TokenURL(), VK: f.vk.URL() + "/api/v2/",
		Trello: f.trello.BaseURL(), TrelloBoard: f.trello.URL() + "/board/" + f.alertBoard.ID, Everhour: f.everhour.URL()}
}

// moderation mirrors the world's moderation shocks onto the fake's ads: a
// campaign the world holds in moderation gets its ad rejected with a real
// verdict's wording; it is accepted again when the world releases it.
func (f *fakes) moderation(sh *shared) {
	sh.mu.Lock()
	ids := sh.w.CampaignIDs()
	states := make(map[adpacer.CampaignID]adpacer.CampaignState, len(ids))
	for _, id := range ids {
		if c, err := sh.w.Campaign(id); err == nil {
			states[id] = c.State
		}
	}
	sh.mu.Unlock()
	for id, st := range states {
		if id.Platform() != adpacer.YandexDirect {
			continue
		}
		_, ext, _ := id.Split()
		cid, _ := strconv.ParseInt(ext, 10, 64)
		ad := f.yandexAds[cid]
		switch {
		case st == adpacer.StateRejected && !f.rejected[id]:
			f.rejected[id] = true
			f.yandex.SetVerdict(ad, "REJECTED", rejection)
			f.yandex.SubmitAd(ad)
		case st != adpacer.StateRejected && f.rejected[id]:
			delete(f.rejected, id)
			f.yandex.SetVerdict(ad, "ACCEPTED", "")
			f.yandex.SubmitAd(ad)
		}
	}
}

// logTime has the specialists log their day on the project's cards at
// 19:00 Moscow time on working days.
func (f *fakes) logTime(now time.Time) error {
	msk := now.In(time.FixedZone("MSK", 3*3600))
	if msk.Hour() != 19 || msk.Minute() != 0 || msk.Weekday() == time.Saturday || msk.Weekday() == time.Sunday {
		return nil
	}
	day := msk.Format(time.DateOnly)
	if f.loggedDays[day] {
		return nil
	}
	f.loggedDays[day] = true
	for _, u := range f.users {
		left := int64(6*3600 + f.rng.IntN(3)*1800) // 6 to 7 hours
		for left > 0 {
			secs := int64(1800 * (1 + f.rng.IntN(5)))
			if secs > left {
				secs = left
			}
			card := f.cards[f.rng.IntN(len(f.cards))]
			if _, err := f.everhour.LogTimeOnCard(u, card, f.project, day, secs, "work on "+card); err != nil {
				return fmt.Errorf("log time: %w", err)
			}
			f.loggedSeconds += secs
			left -= secs
		}
	}
	return nil
}

// manager plays the account manager: approval cards waiting at least an
// hour during office hours (10:00-19:00 Moscow) are moved to Approved.
func (f *fakes) manager(now time.Time) (int, error) {
	msk := now.In(time.FixedZone("MSK", 3*3600))
	granted := 0
	for _, c := range f.trello.Cards(f.alertBoard.ID) {
		if c.ListName != "Approvals" || c.Closed {
			continue
		}
		seen, ok := f.approvalSeen[c.ID]
		if !ok {
			f.approvalSeen[c.ID] = now
			continue
		}
		if msk.Hour() < 10 || msk.Hour() >= 19 || now.Sub(seen) < time.Hour {
			continue
		}
		if err := f.trello.MoveCard(c.ID, "Approved", manager); err != nil {
			return granted, err
		}
		granted++
	}
	return granted, nil
}

// writeConfig writes the daemon's configuration and secret files, exactly
// as an operator would.
func (f *fakes) writeConfig(dir string, sc *sim.Scenario) (string, error) {
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return "", err
	}
	for name, v := range map[string]string{"yandex-token": yandexToken, "google-refresh-token": googleRefresh,
		"google-client-secret": googleadstest.DefaultClientSecret, "vk-client-secret": vkSecret, "trello-key": trelloKey, "trello-token": trelloToken,
		"everhour-api-key": everhourKey} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by adpacer demo: the fakes of this run on loopback.\nmode: apply\ninstance_name: adpacer-demo\n")
	fmt.Fprintf(&b, "store:\n  driver: sqlite\n  sqlite:\n    path: %s\n", filepath.Join(dir, "adpacer.db"))
	fmt.Fprintf(&b, "log:\n  level: info\n  format: json\n")
	fmt.Fprintf(&b, "connectors:\n  yandex_direct:\n    - id: yandex-demo\n      base_url: %s\n      client_login: %s\n      goals: [%d]\n      oauth:\n        access_token_file: %s\n",
		f.yandex.URL(), yandexLogin, demoGoal, filepath.Join(secrets, "yandex-token"))
	custs := make([]string, 0, len(f.zoneOf))
	for c := range f.zoneOf {
		custs = append(custs, c)
	}
	sort.Strings(custs)
	fmt.Fprintf(&b, "  google_ads:\n")
	for i, c := range custs {
		fmt.Fprintf(&b, "    - id: google-demo-%d\n      base_url: %s\n      customer_id: %q\n      oauth:\n        client_id: %s\n        client_secret_file: %s\n        refresh_token_file: %s\n        token_url: %s\n",
			i+1, f.google.URL(), c, googleadstest.DefaultClientID, filepath.Join(secrets, "google-client-secret"), filepath.Join(secrets, "google-refresh-token"), f.google.TokenURL())
	}
	fmt.Fprintf(&b, "  vk_ads:\n    - id: vk-demo\n      base_url: %s\n      client_id: %s\n      client_secret_file: %s\n",
		f.vk.URL(), vkClientID, filepath.Join(secrets, "vk-client-secret"))
	fmt.Fprintf(&b, "  trello:\n    - id: trello-demo\n      base_url: %s\n      key_file: %s\n      token_file: %s\n      boards: [%s]\n      alerts:\n        board: %s\n        comment_interval: 6h\n",
		f.trello.BaseURL(), filepath.Join(secrets, "trello-key"), filepath.Join(secrets, "trello-token"), f.projectBoard.ID, f.alertBoard.ID)
	fmt.Fprintf(&b, "  everhour:\n    - id: everhour-demo\n      base_url: %s\n      api_key_file: %s\n      projects:\n        - project: %q\n          monthly_hours: 360\n",
		f.everhour.URL(), filepath.Join(secrets, "everhour-api-key"), f.project)
	// Changes above 15% on the approve-mode line wait for the manager on the
	// board (the demo manager approves during office hours).
	fmt.Fprintf(&b, "pacing:\n  policy:\n    approval_threshold_pct: 15\n  budget_lines:\n")
	for i, l := range sc.Lines {
		fmt.Fprintf(&b, "    - id: %s\n      name: %q\n      directorate: %s\n      owner: %s\n      timezone: %s\n      period: {start: %q, end: %q}\n      budget: %s\n      currency: RUB\n",
			l.ID, l.Name, l.Directorate, manager, l.TimeZone, l.Start.Format(time.DateOnly), l.End.Add(-time.Nanosecond).Format(time.DateOnly), l.Budget)
		if l.TargetCPA != nil {
			fmt.Fprintf(&b, "      target_cpa: %s\n", *l.TargetCPA)
		}
		// The scenario's per-campaign bid ranges, as the line's range that
		// fits them all (the daemon's config has bid bounds per line): a
		// bid outside a campaign's own range is refused by the world after
		// the fake has accepted it, and the daemon would then read back a
		// bid the world never applied.
		var lo, hi adpacer.Micros
		for j, ci := range l.Campaigns {
			c := &sc.Campaigns[ci]
			if j == 0 || c.MaxBid < hi {
				hi = c.MaxBid
			}
			lo = max(lo, c.MinBid)
		}
		if lo > 0 && hi >= lo {
			fmt.Fprintf(&b, "      min_bid: %s\n      max_bid: %s\n", lo, hi)
		}
		if i == 1 {
			b.WriteString("      mode: approve\n")
		}
		b.WriteString("      campaigns: [")
		for j, ci := range l.Campaigns {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", sc.Campaigns[ci].ID)
		}
		b.WriteString("]\n")
	}
	path := filepath.Join(dir, "adpacer.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
