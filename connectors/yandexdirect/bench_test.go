package yandexdirect_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/adpacer/adpacer/connectors/yandexdirect"
	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

// BenchmarkParseTSV35k parses the closed-days report of a full sync of
// 1,000 campaigns over 35 days (35,000 rows).
func BenchmarkParseTSV35k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("Date\tCampaignId\tImpressions\tClicks\tCost\tConversions_555_LC\n")
	for d := 1; d <= 35; d++ {
		for c := 0; c < 1000; c++ {
			fmt.Fprintf(&buf, "2026-10-%02d\t%d\t%d\t%d\t%d\t--\n", d%28+1, 100000+c, 1000+c, 12, 48_000_000+c)
		}
	}
	body := buf.Bytes()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := yandexdirect.ParseTSV(body, "Date"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPull180 is one full sync of 180 campaigns (3 ads each, 35 days)
// against the in-process fake: client and fake cost together.
func BenchmarkPull180(b *testing.B) {
	e := newEnv(b, yandexdirecttest.Options{DailyUnits: 1 << 40, ReportPolls: -1})
	ids := e.addCampaigns(180, 3)
	e.seedSpend(ids, 35)
	c := e.client(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Pull(context.Background(), pullReq(35)); err != nil {
			b.Fatal(err)
		}
	}
}
