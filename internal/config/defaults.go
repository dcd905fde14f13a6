package config

import "time"

// Defaults that are not obvious from the type. Every default lives in this
// file so the README's configuration reference can be checked against it.
const (
	DefaultListen          = "127.0.0.1:9464"
	DefaultSQLitePath      = "/var/lib/adpacer/adpacer.db"
	DefaultShutdownTimeout = 25 * time.Second

	DefaultYandexBaseURL        = "https://api.direct.yandex.com"
	DefaultYandexSandboxBaseURL = "https://api-sandbox.direct.yandex.com"
	DefaultYandexTokenURL       = "https://oauth.yandex.ru/token"
	DefaultYandexMaxInFlight    = 5 // Yandex refuses more than 5 concurrent requests per advertiser (error 506)
	// DefaultStallShare: a silent gap in a source's reports is a stall when
	// its campaigns spent this share of a day in the same hours yesterday
	// (inference; see cycle.detectStall).
	DefaultStallShare = 0.05

	DefaultGoogleBaseURL    = "https://googleads.googleapis.com"
	DefaultGoogleAPIVersion = "v26" // newest version named in docs/api-notes §2.1
	DefaultGoogleTokenURL   = "https://oauth2.googleapis.com/token"

	DefaultVKBaseURL = "https://ads.vk.com"

	DefaultTrelloBaseURL   = "https://api.trello.com/1"
	DefaultEverhourBaseURL = "https://api.everhour.com"
)

// Default returns the configuration used for every key the file leaves
// out. List items (connectors, budget lines) get their defaults in
// fillDefaults because YAML decoding creates them fresh.
func Default() *Config {
	return &Config{
		Mode:         ModeDryRun,
		InstanceName: "adpacer",
		Store: Store{
			Driver:         "sqlite",
			SQLite:         SQLite{Path: DefaultSQLitePath},
			MigrateOnStart: true,
		},
		HTTP:            HTTP{Listen: DefaultListen},
		Log:             Log{Level: "info", Format: "auto"},
		ShutdownTimeout: Duration(DefaultShutdownTimeout),
		Jobs: Jobs{
			Pace:   Job{Schedule: "@every 15m", Timeout: Duration(10 * time.Minute), Jitter: Duration(30 * time.Second)},
			Apply:  Job{Schedule: "@every 5m", Timeout: Duration(5 * time.Minute), Jitter: Duration(10 * time.Second)},
			Alerts: Job{Schedule: "@every 5m", Timeout: Duration(2 * time.Minute), Jitter: Duration(10 * time.Second)},
		},
	}
}

func defaultTrelloAlerts() TrelloAlerts {
	return TrelloAlerts{
		Lists: TrelloLists{
			Alerts:    "Alerts",
			Resolved:  "Resolved",
			Approvals: "Approvals",
			Approved:  "Approved",
			Rejected:  "Rejected",
		},
		Labels: map[string]string{
			"critical": "critical",
			"warning":  "warning",
			"info":     "info",
		},
		MaxNewCardsPerCycle:       10,
		ResolveAfterHealthyCycles: 3,
		CommentInterval:           Duration(time.Hour),
		ReopenWindow:              Duration(24 * time.Hour),
		ApprovalExpiry:            Duration(4 * time.Hour),
	}
}

// fillDefaults sets defaults of list items and of keys whose default
// depends on another key (the Yandex sandbox URL). It runs after decoding
// and before validation.
func (c *Config) fillDefaults() {
	for i := range c.Connectors.YandexDirect {
		y := &c.Connectors.YandexDirect[i]
		if y.BaseURL == "" {
			y.BaseURL = DefaultYandexBaseURL
			if y.Sandbox {
				y.BaseURL = DefaultYandexSandboxBaseURL
			}
		}
		if y.AcceptLanguage == "" {
			y.AcceptLanguage = "en"
		}
		if y.OAuth.TokenURL == "" {
			y.OAuth.TokenURL = DefaultYandexTokenURL
		}
		if y.Schedule == "" {
			y.Schedule = "@every 10m"
		}
		if y.Timeout == 0 {
			y.Timeout = Duration(2 * time.Minute)
		}
		if y.MaxInFlight == 0 {
			y.MaxInFlight = DefaultYandexMaxInFlight
		}
		y.StallShare = defaultStallShare(y.StallShare)
	}
	for i := range c.Connectors.GoogleAds {
		g := &c.Connectors.GoogleAds[i]
		if g.BaseURL == "" {
			g.BaseURL = DefaultGoogleBaseURL
		}
		if g.APIVersion == "" {
			g.APIVersion = DefaultGoogleAPIVersion
		}
		if g.OAuth.TokenURL == "" {
			g.OAuth.TokenURL = DefaultGoogleTokenURL
		}
		if g.AccessLevel == "" {
			g.AccessLevel = "basic"
		}
		if g.Schedule == "" {
			g.Schedule = "@every 10m"
		}
		if g.Timeout == 0 {
			g.Timeout = Duration(2 * time.Minute)
		}
		g.StallShare = defaultStallShare(g.StallShare)
		g.CustomerID = normaliseCustomerID(g.CustomerID)
		g.LoginCustomerID = normaliseCustomerID(g.LoginCustomerID)
	}
	for i := range c.Connectors.VKAds {
		v := &c.Connectors.VKAds[i]
		if v.BaseURL == "" {
			v.BaseURL = DefaultVKBaseURL
		}
		if v.Schedule == "" {
			v.Schedule = "@every 10m"
		}
		if v.Timeout == 0 {
			v.Timeout = Duration(time.Minute)
		}
		v.StallShare = defaultStallShare(v.StallShare)
	}
	for i := range c.Connectors.Trello {
		t := &c.Connectors.Trello[i]
		if t.BaseURL == "" {
			t.BaseURL = DefaultTrelloBaseURL
		}
		if t.Schedule == "" {
			t.Schedule = "@every 5m"
		}
		if t.Timeout == 0 {
			t.Timeout = Duration(time.Minute)
		}
		d := defaultTrelloAlerts()
		a := &t.Alerts
		for _, p := range []struct {
			v *string
			d string
		}{
			{&a.Lists.Alerts, d.Lists.Alerts}, {&a.Lists.Resolved, d.Lists.Resolved},
			{&a.Lists.Approvals, d.Lists.Approvals}, {&a.Lists.Approved, d.Lists.Approved},
			{&a.Lists.Rejected, d.Lists.Rejected},
		} {
			if *p.v == "" {
				*p.v = p.d
			}
		}
		if a.Labels == nil {
			a.Labels = d.Labels
		}
		if a.MaxNewCardsPerCycle == 0 {
			a.MaxNewCardsPerCycle = d.MaxNewCardsPerCycle
		}
		if a.ResolveAfterHealthyCycles == 0 {
			a.ResolveAfterHealthyCycles = d.ResolveAfterHealthyCycles
		}
		if a.CommentInterval == 0 {
			a.CommentInterval = d.CommentInterval
		}
		if a.ReopenWindow == 0 {
			a.ReopenWindow = d.ReopenWindow
		}
		if a.ApprovalExpiry == 0 {
			a.ApprovalExpiry = d.ApprovalExpiry
		}
	}
	for i := range c.Connectors.Everhour {
		e := &c.Connectors.Everhour[i]
		if e.BaseURL == "" {
			e.BaseURL = DefaultEverhourBaseURL
		}
		if e.TimeZone == "" {
			e.TimeZone = "Europe/Moscow"
		}
		if e.Schedule == "" {
			e.Schedule = "@every 15m"
		}
		if e.Timeout == 0 {
			e.Timeout = Duration(time.Minute)
		}
		if e.RereadDays == 0 {
			e.RereadDays = 7
		}
		if e.ThresholdsPct == nil {
			e.ThresholdsPct = []float64{80, 100}
		}
		if e.HolidayCalendar == "" {
			e.HolidayCalendar = "ru"
		}
	}
}

// normaliseCustomerID turns "123-456-7890" and "customers/1234567890" into
// the 10 digits Google Ads wants in URLs and headers.
func normaliseCustomerID(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == ' ' {
			continue
		}
		out = append(out, s[i])
	}
	r := string(out)
	const prefix = "customers/"
	if len(r) > len(prefix) && r[:len(prefix)] == prefix {
		r = r[len(prefix):]
	}
	return r
}

func defaultStallShare(v *float64) *float64 {
	if v != nil {
		return v
	}
	d := DefaultStallShare
	return &d
}
