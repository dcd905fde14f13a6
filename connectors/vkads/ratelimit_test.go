package vkads_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/connectors/vkads"
	"github.com/adpacer/adpacer/connectors/vkads/vkadstest"
)

func observe(t *testing.T, c *vkads.Client, id int64) error {
	t.Helper()
	_, err := c.Observe(context.Background(), []adpacer.CampaignID{cid(id)})
	return err
}

// The client reads X-RateLimit-RPS-Remaining and waits for the next second
// itself: five calls under a limit of two per second never see a 429.
func TestHonoursRemainingHeaders(t *testing.T) {
	e := newEnv(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 2}})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	for i := 0; i < 5; i++ {
		if err := observe(t, c, id); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := counter(t, e.reg, "adpacer_http_rate_limited_total", map[string]string{"api": "vk_ads"}); n != 0 {
		t.Errorf("%v answers were 429: the client did not wait for the window", n)
	}
	if n := counter(t, e.reg, "adpacer_vk_rate_limit_waits_total", nil); n != 2 {
		t.Errorf("waits = %v, want 2 (after calls 2 and 4)", n)
	}
	if d := e.clock.Now().Sub(t0); d < 2*time.Second || d > 3*time.Second {
		t.Errorf("clock moved %s, want two waits to the next second (with jitter)", d)
	}
}

// A 429 whose headers say the second is spent is retried after the
// boundary through httpx (jittered), and the call succeeds.
func TestRetries429AtTheNextSecond(t *testing.T) {
	e := newEnv(t, vkadstest.Options{Limits: vkadstest.Limits{RPS: 5}})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	if err := observe(t, c, id); err != nil { // takes the token first
		t.Fatal(err)
	}
	e.clock.Advance(300 * time.Millisecond)
	e.fake.SetRemaining(account, vkadstest.RateRemaining{RPS: 0, Hourly: -1, Daily: -1})
	if err := observe(t, c, id); err != nil {
		t.Fatalf("after a 429: %v", err)
	}
	if n := counter(t, e.reg, "adpacer_http_rate_limited_total", map[string]string{"api": "vk_ads"}); n != 1 {
		t.Errorf("429s = %v, want 1", n)
	}
	if got := e.clock.Now(); got.Before(t0.Add(time.Second)) || got.After(t0.Add(1200*time.Millisecond)) {
		t.Errorf("retried at %s, want just after the next second %s", got, t0.Add(time.Second))
	}
}

// A spent hourly or daily window is longer than MaxRateWait: the call fails
// at once with a retryable RateLimitError naming the window and when it
// opens, and later calls fail fast without touching the API until then.
func TestLongWindowsFailFastAndRecover(t *testing.T) {
	cases := []struct {
		name   string
		rem    vkadstest.RateRemaining
		window string
		opens  time.Time
	}{
		{"hourly", vkadstest.RateRemaining{RPS: -1, Hourly: 0, Daily: -1}, "hourly", t0.Add(time.Hour)},
		{"daily", vkadstest.RateRemaining{RPS: -1, Hourly: -1, Daily: 0}, "daily", msk(2026, 12, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, vkadstest.Options{})
			id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
			c := e.client(t, nil, nil)
			e.fake.SetRemaining(account, tc.rem)
			err := observe(t, c, id)
			var rl *vkads.RateLimitError
			if !errors.As(err, &rl) || !errors.Is(err, vkads.ErrRateLimited) || adpacer.IsTerminal(err) {
				t.Fatalf("err = %v, want a retryable RateLimitError", err)
			}
			if rl.Window != tc.window || !rl.RetryAt.Equal(tc.opens) {
				t.Fatalf("RateLimitError %+v, want window %s opening %s", rl, tc.window, tc.opens)
			}
			sent := counter(t, e.reg, "adpacer_vk_requests_total", map[string]string{"endpoint": "ad_plans"})
			if err := observe(t, c, id); !errors.Is(err, vkads.ErrRateLimited) {
				t.Fatalf("second call: %v", err)
			}
			if now := counter(t, e.reg, "adpacer_vk_requests_total", map[string]string{"endpoint": "ad_plans"}); now != sent {
				t.Fatalf("a call went out while the %s window was known to be spent", tc.window)
			}
			e.clock.Set(tc.opens)
			if err := observe(t, c, id); err != nil {
				t.Fatalf("after the window opened: %v", err)
			}
		})
	}
}

// Server errors are retried with back-off (reads and mass_action alike:
// both are safe to resend); when they persist the error is retryable, not
// terminal.
func TestServerErrorsRetried(t *testing.T) {
	e := newEnv(t, vkadstest.Options{})
	id := e.fake.AddAdPlan(account, vkadstest.AdPlan{})
	c := e.client(t, nil, nil)
	e.fake.FailNext(2, 503)
	if err := observe(t, c, id); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	e.fake.FailNext(4, 500)
	err := observe(t, c, id)
	var apiErr *vkads.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 500 || adpacer.IsTerminal(err) {
		t.Fatalf("err = %v, want a retryable 500", err)
	}
	if n := counter(t, e.reg, "adpacer_http_retries_total", map[string]string{"api": "vk_ads"}); n != 2+3 {
		t.Errorf("retries = %v, want 5 (2, then 3 of 4 attempts)", n)
	}
}
