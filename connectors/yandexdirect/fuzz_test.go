package yandexdirect_test

import (
	"testing"

	"github.com/adpacer/adpacer/connectors/yandexdirect"
)

func FuzzParseTSV(f *testing.F) {
	f.Add([]byte("Date\tCampaignId\tImpressions\tClicks\tCost\tConversions\n2026-11-20\t123\t1000\t12\t48000000\t--\n"))
	f.Add([]byte("r1 (2026-11-01 - 2026-11-27)\nDate\tCampaignId\tImpressions\tClicks\tCost\tConversions_555_LC\tConversions_556_LC\n2026-11-20\t1\t10\t1\t100\t2\t--\nTotal rows: 1\n"))
	f.Add([]byte("Date\tCampaignId\r\n2026-11-20\t1\r\n"))
	f.Add([]byte("Total rows: 0\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := yandexdirect.ParseTSV(b, "Date")
		if err != nil {
			return
		}
		for _, r := range tab.Rows {
			if len(r) != len(tab.Columns) {
				t.Fatalf("row with %d cells for %d columns", len(r), len(tab.Columns))
			}
		}
		if tab.Index("Date") < 0 {
			t.Fatal("accepted a table without the wanted column")
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"result":{"Campaigns":[{"Id":1,"DailyBudget":{"Amount":500000000,"Mode":"STANDARD"}}],"LimitedBy":10000}}`))
	f.Add([]byte(`{"error":{"request_id":"8695244274068608439","error_code":152,"error_string":"Not enough units","error_detail":"..."}}`))
	f.Add([]byte(`{"result":{"UpdateResults":[{"Id":1},{"Errors":[{"Code":8305,"Message":"x"}]}]}}`))
	f.Add([]byte(`{"result": {"Campaigns": [{"Id": 1, "Na`))
	f.Add([]byte(`<html>503</html>`))
	f.Add([]byte(`{"result":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, apiErr, err := yandexdirect.DecodeEnvelope(b)
		n := 0
		if raw != nil {
			n++
		}
		if apiErr != nil {
			n++
			_ = apiErr.Error()
		}
		if err != nil {
			n++
		}
		if n != 1 {
			t.Fatalf("exactly one of result, API error, decode error expected; got raw=%v apiErr=%v err=%v", raw != nil, apiErr, err)
		}
	})
}

func FuzzParseUnits(f *testing.F) {
	for _, s := range []string{"10/20828/64000", "0/0/0", "", "1/2", "a/b/c", "-1/2/3", " 5 / 6 / 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, rem, lim, ok := yandexdirect.ParseUnits(s)
		if ok && (sp < 0 || rem < 0 || lim < 0) {
			t.Fatalf("negative values accepted from %q", s)
		}
	})
}
