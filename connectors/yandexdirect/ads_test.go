package yandexdirect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/prometheus/client_golang/prometheus"
)

// adsSel is the SelectionCriteria of one Ads.get request.
type adsSel struct {
	Ids, CampaignIds []int64
}

// adsRecorder is a transport that records the selection of every Ads.get
// the client sends, so tests can see which ads it asked for by id and
// which campaigns it searched.
type adsRecorder struct {
	mu   sync.Mutex
	sels []adsSel
}

func (r *adsRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/ads") && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		var env struct {
			Method string `json:"method"`
			Params struct {
				SelectionCriteria adsSel `json:"SelectionCriteria"`
			} `json:"params"`
		}
		if json.Unmarshal(b, &env) == nil && env.Method == "get" {
			r.mu.Lock()
			r.sels = append(r.sels, env.Params.SelectionCriteria)
			r.mu.Unlock()
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// take returns the selections recorded since the last take: the ids asked
// for by Ids and the campaigns searched by CampaignIds, both sorted.
func (r *adsRecorder) take() (ids, camps []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sels {
		ids = append(ids, s.Ids...)
		camps = append(camps, s.CampaignIds...)
	}
	r.sels = nil
	slices.Sort(ids)
	slices.Sort(camps)
	return ids, camps
}

// adIDs returns the ids in a batch's Ads, sorted.
func adIDs(t *testing.T, ads []adpacer.AdStatus) []int64 {
	t.Helper()
	out := make([]int64, 0, len(ads))
	for _, a := range ads {
		var id int64
		if _, err := fmt.Sscan(a.AdID, &id); err != nil {
			t.Fatalf("ad id %q: %v", a.AdID, err)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// adsOfFake lists the ads the fake would report: every serving ad of the
// campaigns.
func adsOfFake(ids ...[]int64) []int64 {
	var out []int64
	for _, v := range ids {
		out = append(out, v...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// adsEnv is an account with campaigns whose ad ids the test knows.
type adsEnv struct {
	*env
	rec   *adsRecorder
	req   connectors.AdPullRequest
	camps []int64
	ads   map[int64][]int64 // campaign -> its ads
}

func newAdsEnv(t *testing.T, campaigns, adsPer int) *adsEnv {
	e := &adsEnv{env: newEnv(t, yandexdirecttest.Options{DailyUnits: 1_000_000}), rec: &adsRecorder{}, req: pullReq(2), ads: map[int64][]int64{}}
	e.addCamps(campaigns, adsPer)
	return e
}

func (e *adsEnv) addCamps(n, adsPer int) []int64 {
	var added []int64
	for i := 0; i < n; i++ {
		id := e.fake.AddCampaign(login, yandexdirecttest.Campaign{})
		added = append(added, id)
		e.camps = append(e.camps, id)
		for j := 0; j < adsPer; j++ {
			e.addAd(id)
		}
	}
	return added
}

func (e *adsEnv) addAd(camp int64) int64 {
	ad := e.fake.AddAd(yandexdirecttest.Ad{CampaignID: camp, Status: "ACCEPTED"})
	e.ads[camp] = append(e.ads[camp], ad)
	return ad
}

func (e *adsEnv) dropAd(ad int64) {
	for c, v := range e.ads {
		e.ads[c] = slices.DeleteFunc(v, func(x int64) bool { return x == ad })
	}
}

func (e *adsEnv) allAds() []int64 {
	var out []int64
	for _, v := range e.ads {
		out = append(out, v...)
	}
	return adsOfFake(out)
}

func (e *adsEnv) client(t *testing.T, mod func(*yandexdirect.Config), known yandexdirect.KnownAdsFunc) *yandexdirect.Client {
	return e.clientWith(t, mod, func(o *yandexdirect.Options) {
		o.Transport = e.rec
		o.KnownAds = known
		o.Registerer = prometheus.NewRegistry()
	})
}

// pull runs one pull at the fake's clock (the TODAY report must be dated
// on the fake's day) and returns the ads and the ads.get request count.
func (e *adsEnv) pull(t *testing.T, c *yandexdirect.Client) ([]adpacer.AdStatus, int) {
	t.Helper()
	e.fake.ResetCalls()
	e.req.Now = e.clock.Now()
	b, err := c.Pull(context.Background(), e.req)
	if err != nil {
		t.Fatal(err)
	}
	return b.Ads, e.fake.Calls("ads.get")
}

func (e *adsEnv) wantAds(t *testing.T, step string, got []adpacer.AdStatus, want []int64) {
	t.Helper()
	if ids := adIDs(t, got); !slices.Equal(ids, want) {
		t.Fatalf("%s: ads %v, want %v", step, ids, want)
	}
}

// A campaign created after the first pull is searched by CampaignIds (10
// per call); the campaigns already covered are not searched again, their
// ads are read by Ids.
func TestAdsNewCampaignIsDiscovered(t *testing.T) {
	e := newAdsEnv(t, 3, 2)
	c := e.client(t, nil, nil)
	ads, calls := e.pull(t, c)
	e.wantAds(t, "cold pull", ads, e.allAds())
	if ids, camps := e.rec.take(); calls != 1 || len(ids) != 0 || !slices.Equal(camps, e.camps) {
		t.Fatalf("cold pull: %d calls, Ids %v, CampaignIds %v", calls, ids, camps)
	}
	known := e.allAds()
	added := e.addCamps(12, 1)
	e.clock.Advance(time.Hour)
	ads, calls = e.pull(t, c)
	e.wantAds(t, "after 12 new campaigns", ads, e.allAds())
	// 1 Ids call for the 6 known ads + ceil(12/10) discovery calls.
	if ids, camps := e.rec.take(); calls != 3 || !slices.Equal(ids, known) || !slices.Equal(camps, added) {
		t.Fatalf("after new campaigns: %d calls, Ids %v (want %v), CampaignIds %v (want %v)", calls, ids, known, camps, added)
	}
	e.clock.Advance(time.Hour)
	ads, calls = e.pull(t, c)
	e.wantAds(t, "third pull", ads, e.allAds())
	if ids, camps := e.rec.take(); calls != 1 || !slices.Equal(ids, e.allAds()) || len(camps) != 0 {
		t.Fatalf("third pull: %d calls, Ids %v, CampaignIds %v", calls, ids, camps)
	}
}

// A deleted ad (Ids returns nothing for it) and an archived one (not in
// the serving States) disappear from the batch and from the index: the
// next pull no longer asks for them. So do the ads of a campaign that
// ended.
func TestAdsDeletedAdDisappears(t *testing.T) {
	e := newAdsEnv(t, 3, 2)
	c := e.client(t, nil, nil)
	e.pull(t, c)
	e.rec.take()
	del, arch := e.ads[e.camps[0]][0], e.ads[e.camps[1]][1]
	e.fake.DeleteAd(del)
	e.fake.ArchiveAd(arch)
	asked := e.allAds()
	e.dropAd(del)
	e.dropAd(arch)
	e.clock.Advance(time.Hour)
	ads, calls := e.pull(t, c)
	e.wantAds(t, "after delete and archive", ads, e.allAds())
	if ids, _ := e.rec.take(); calls != 1 || !slices.Equal(ids, asked) {
		t.Fatalf("pull after delete: %d calls, Ids %v, want %v", calls, ids, asked)
	}
	e.clock.Advance(time.Hour)
	ads, calls = e.pull(t, c)
	e.wantAds(t, "next pull", ads, e.allAds())
	if ids, camps := e.rec.take(); calls != 1 || !slices.Equal(ids, e.allAds()) || len(camps) != 0 {
		t.Fatalf("next pull still asks for dropped ads: %d calls, Ids %v, CampaignIds %v", calls, ids, camps)
	}
}

// An ad created in a campaign already covered is found by the periodic
// rediscovery (default daily), not before: until then the known ads are
// read by Ids.
func TestAdsRediscoveryFindsNewAdInKnownCampaign(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every time.Duration // 0: the default
		want  time.Duration
	}{{"default daily", 0, 24 * time.Hour}, {"configured 6h", 6 * time.Hour, 6 * time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdsEnv(t, 12, 1)
			c := e.client(t, func(c *yandexdirect.Config) { c.AdsRediscovery = tc.every }, nil)
			start := e.clock.Now()
			e.pull(t, c)
			e.rec.take()
			before := e.allAds()
			fresh := e.addAd(e.camps[4])
			// Just before the rediscovery is due the new ad is not seen.
			e.clock.Advance(tc.want - time.Minute)
			ads, calls := e.pull(t, c)
			e.wantAds(t, "before rediscovery", ads, before)
			if _, camps := e.rec.take(); calls != 1 || len(camps) != 0 {
				t.Fatalf("before rediscovery: %d calls, CampaignIds %v", calls, camps)
			}
			e.clock.Set(start.Add(tc.want))
			ads, calls = e.pull(t, c)
			e.wantAds(t, "rediscovery", ads, e.allAds())
			if ids, camps := e.rec.take(); calls != 2 || len(ids) != 0 || !slices.Equal(camps, e.camps) || !slices.Contains(adIDs(t, ads), fresh) {
				t.Fatalf("rediscovery: %d calls, Ids %v, CampaignIds %v", calls, ids, camps)
			}
			// And it is read by id from then on.
			e.clock.Advance(time.Hour)
			ads, calls = e.pull(t, c)
			e.wantAds(t, "after rediscovery", ads, e.allAds())
			if ids, _ := e.rec.take(); calls != 1 || !slices.Contains(ids, fresh) {
				t.Fatalf("after rediscovery: %d calls, Ids %v", calls, ids)
			}
		})
	}
}

// After a restart the index is seeded from the stored ad statuses
// (Options.KnownAds): the first pull reads them by Ids in one call and
// searches only campaigns the store has no ads for. Entries of other
// platforms, malformed ids and ads deleted since are harmless. Without
// KnownAds, or when it fails, the first pull discovers by campaign.
func TestAdsKnownAdsSeedAfterRestart(t *testing.T) {
	e := newAdsEnv(t, 25, 2)
	first := e.client(t, nil, nil)
	stored, calls := e.pull(t, first)
	e.rec.take()
	if calls != 3 {
		t.Fatalf("cold pull of 25 campaigns: %d ads.get, want 3", calls)
	}
	// The store keeps a status of an ad deleted since, and one of an ad id
	// the account never had: both are asked for by Ids and come back empty.
	storedIDs := adsOfFake(append(adIDs(t, stored), 999_999))
	gone := e.ads[e.camps[7]][1]
	e.fake.DeleteAd(gone)
	e.dropAd(gone)
	added := e.addCamps(1, 2)
	stored = append(stored,
		adpacer.AdStatus{Campaign: "google_ads:5", AdID: "77"},
		adpacer.AdStatus{Campaign: "yandex_direct:abc", AdID: "78"},
		adpacer.AdStatus{Campaign: cid(e.camps[0]), AdID: "-1"},
		adpacer.AdStatus{Campaign: cid(e.camps[0]), AdID: "999999"},
	)
	e.clock.Advance(time.Hour)

	t.Run("seeded", func(t *testing.T) {
		var seeds int
		c := e.client(t, nil, func(ctx context.Context) ([]adpacer.AdStatus, error) {
			seeds++
			return stored, nil
		})
		ads, calls := e.pull(t, c)
		e.wantAds(t, "seeded pull", ads, e.allAds())
		wantIDs := storedIDs
		if ids, camps := e.rec.take(); calls != 2 || !slices.Equal(ids, wantIDs) || !slices.Equal(camps, added) {
			t.Fatalf("seeded pull: %d calls, Ids %v (want %v), CampaignIds %v (want %v)", calls, ids, wantIDs, camps, added)
		}
		_, calls = e.pull(t, c)
		if ids, _ := e.rec.take(); calls != 1 || seeds != 1 || !slices.Equal(ids, e.allAds()) {
			t.Fatalf("second pull: %d calls, %d seedings, Ids %v", calls, seeds, ids)
		}
	})
	t.Run("KnownAds fails", func(t *testing.T) {
		c := e.client(t, nil, func(ctx context.Context) ([]adpacer.AdStatus, error) {
			return nil, errors.New("store: database is locked")
		})
		ads, calls := e.pull(t, c)
		e.wantAds(t, "fallback pull", ads, e.allAds())
		if ids, camps := e.rec.take(); calls != 3 || len(ids) != 0 || !slices.Equal(camps, e.camps) {
			t.Fatalf("fallback pull: %d calls, Ids %v, CampaignIds %v", calls, ids, camps)
		}
	})
	t.Run("no KnownAds", func(t *testing.T) {
		c := e.client(t, nil, nil)
		ads, calls := e.pull(t, c)
		e.wantAds(t, "cold pull", ads, e.allAds())
		if _, camps := e.rec.take(); calls != 3 || !slices.Equal(camps, e.camps) {
			t.Fatalf("cold pull: %d calls, CampaignIds %v", calls, camps)
		}
	})
}

// A cancelled context while seeding fails the pull instead of silently
// falling back (the next pull seeds again).
func TestAdsKnownAdsCancelled(t *testing.T) {
	e := newAdsEnv(t, 2, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var seeds int
	c := e.client(t, nil, func(context.Context) ([]adpacer.AdStatus, error) {
		seeds++
		if seeds == 1 {
			cancel()
			return nil, context.Canceled
		}
		return nil, nil
	})
	e.req.Now = e.clock.Now()
	if _, err := c.Pull(ctx, e.req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ads, _ := e.pull(t, c)
	e.wantAds(t, "after cancel", ads, e.allAds())
	if seeds != 2 {
		t.Fatalf("KnownAds called %d times, want 2", seeds)
	}
}

func TestAdsRediscoveryConfig(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	_, err := yandexdirect.New(yandexdirect.Config{ID: "y", BaseURL: e.fake.URL(), AdsRediscovery: time.Second}, oauth2StaticForTest(), yandexdirect.Options{})
	if err == nil || !strings.Contains(err.Error(), "AdsRediscovery") {
		t.Fatalf("err = %v, want one naming AdsRediscovery", err)
	}
}
