package yandexdirecttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	token  = "tok-CANARY-123"
	login  = "bank-client"
	agency = "agency-login"
)

var t0 = time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)

type env struct {
	fake  *yandexdirecttest.Server
	clock *yandexdirecttest.ManualClock
	spend *yandexdirecttest.MemorySpend
}

func newEnv(t *testing.T, opts yandexdirecttest.Options) *env {
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
	return &env{fake: f, clock: clock, spend: spend}
}

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

type rawResp struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		Result map[string]json.RawMessage `json:"result"`
		Error  *struct {
			Code   int    `json:"error_code"`
			Detail string `json:"error_detail"`
		} `json:"error"`
	}
}

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
	r := rawResp{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.env)
	return r
}

func authHdr() map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Client-Login": login}
}

func (r rawResp) code() int {
	if r.env.Error == nil {
		return 0
	}
	return r.env.Error.Code
}

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

func itoa(v int64) string { return fmtInt(v) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
