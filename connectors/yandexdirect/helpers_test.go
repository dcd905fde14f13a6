package yandexdirect_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
)

const (
	token  = "tok-CANARY-123"
	login  = "bank-client"
	agency = "agency-login"
)

// t0 is 10:00 Moscow time on a Saturday.
var t0 = time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)

type env struct {
	fake  *yandexdirecttest.Server
	clock *yandexdirecttest.ManualClock
	spend *yandexdirecttest.MemorySpend
	reg   *prometheus.Registry
}

func newEnv(t testing.TB, opts yandexdirecttest.Options) *env {
	t.Helper()
	clock := yandexdirecttest.NewManualClock(t0)
	spend := yandexdirecttest.NewMemorySpend()
	opts.Clock = clock
	if opts.Spend == nil {
		opts.Spend = spend
	}
	f := yandexdirecttest.New(opts)
	t.Cleanup(f.Close)
	f.AddAgency(agency, token, login)
	return &env{fake: f, clock: clock, spend: spend, reg: prometheus.NewRegistry()}
}

func (e *env) client(t testing.TB, mod func(*yandexdirect.Config)) *yandexdirect.Client {
	t.Helper()
	return e.clientWith(t, mod, nil)
}

// clientWith also lets the test set Options (KnownAds, Transport, a fresh
// Registerer for a second, "restarted" client).
func (e *env) clientWith(t testing.TB, mod func(*yandexdirect.Config), modOpts func(*yandexdirect.Options)) *yandexdirect.Client {
	t.Helper()
	cfg := yandexdirect.Config{ID: "yandex-bank", BaseURL: e.fake.URL(), ClientLogin: login, UseOperatorUnits: false}
	if mod != nil {
		mod(&cfg)
	}
	opts := yandexdirect.Options{Clock: e.clock, Registerer: e.reg, Rand: func() float64 { return 0.5 }}
	if modOpts != nil {
		modOpts(&opts)
	}
	c, err := yandexdirect.New(cfg, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addCampaigns creates n campaigns with a 1000 RUB budget, a 10 RUB bid on
// 3 keywords and adsPer accepted ads each.
func (e *env) addCampaigns(n, adsPer int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		b := &yandexdirecttest.DailyBudget{Amount: 1000_000_000, Mode: "STANDARD"}
		ids[i] = e.fake.AddCampaign(login, yandexdirecttest.Campaign{DailyBudget: b, Keywords: 3, SearchBid: 10_000_000})
		for j := 0; j < adsPer; j++ {
			e.fake.AddAd(yandexdirecttest.Ad{CampaignID: ids[i], Status: "ACCEPTED"})
		}
	}
	return ids
}

func cid(id int64) adpacer.CampaignID {
	return adpacer.NewCampaignID(adpacer.YandexDirect, strconv.FormatInt(id, 10))
}

func micros(v int64) *adpacer.Micros { m := adpacer.Micros(v); return &m }

type rawResp struct {
	status int
	header http.Header
	body   []byte
}

// post sends a raw request to the fake.
func post(t *testing.T, url string, hdr map[string]string, body string) rawResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
}

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

func oauth2StaticForTest() oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})
}
