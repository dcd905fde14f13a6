// Package everhour is adpacer's Everhour connector: the client the daemon
// pulls time with, paid-hours budgets with burn alerts and metrics, and the
// hours report. Its stateful fake lives in everhourtest.
//
// # Client and pull
//
// New(Config, Deps) builds a Client over internal/httpx: X-Api-Key (never
// logged, never in errors; Config prints it redacted), X-Accept-Version
// 1.2, a token bucket of 1.5 requests/s with burst 4 (at most 19 requests
// in any 10 s, under Everhour's ~20), 429 waits Retry-After (5 s when
// absent), 5xx on reads retried up to 3 times with jittered back-off, other
// 4xx never retried and returned as adpacer.Terminal(*APIError).
//
// Dates go out only as YYYY-MM-DD; anything else (ISO datetimes with "T",
// Unix timestamps, impossible dates) is refused before a request is sent.
// Dates coming back are read as YYYY-MM-DD or DD-MM-YYYY (the timesheets
// endpoint's form). Time is integer seconds, money integer cents.
//
// Prefixed ids ("tr:<trello id>", "ev:123") go into paths with their ":"
// as the notes say; every other unsafe character is percent-encoded, so an
// id can never change the route.
//
// Paging is bare arrays: pages 1, 2, ... until a page is shorter than the
// limit. /team/time uses limit 50,000 (the API maximum) by default, so a
// pull of N records takes ceil(N/limit) pages, plus one empty page when N
// is an exact multiple: the fewest the API allows.
//
// PullTime (connectors.TimeSource) returns users, projects with budgets,
// every project's tasks, and every team time record dated within
// [from, to], plus the tasks those records carry (tasks without a project
// included). The batch is complete or the pull fails: a failed page, a
// record repeated across pages (the data moved under the pager), a record
// outside the range or a full last task page (the API's 100-page cap) is an
// error, because the store deletes local records of the range that a
// batch lacks. Known limit: a record deleted upstream while a multi-page
// pull runs shifts later pages by one, so one record can be missed by that
// pull; the next pull of the re-read window restores it. With the default
// limit nearly every pull is a single page. Reconcile is the pure form of
// what the store does with a batch.
//
// # Budgets and alerts
//
// EvaluateBudgets is pure (now is a parameter). Budget precedence per
// project: an Everhour time budget with a known period; else the config
// budget (ProjectBudget, monthly by default; BudgetConfig.DefaultSeconds
// for any other project); money/costs budgets are not hours and fall back
// to config. Used seconds are summed from the records of tasks listing the
// project, within the period (monthly, weekly Monday-Sunday, daily, or
// general since appliedFrom) counted in BudgetConfig.Location
// (Europe/Moscow by default). The projection is used + used/elapsed x left,
// in integer seconds, where elapsed counts working days from the period
// start through today inclusive and left those after today, on a Calendar
// (the Russian production calendar for 2025 and 2026 by default, embedded
// as calendars/ru.yaml; LoadCalendar reads an override file that extends it
// or, with base: none, replaces it).
//
// BudgetAlerts gives one alert per project and period (key
// "everhour:budget:<project>:<period start>"): critical when used reaches
// CriticalUsedPercent (100) or the projection exceeds ProjectedPercent
// (100) after MinElapsedWorkdays (2), warning at WarnUsedPercent (80). The
// fingerprint changes with severity and 10% bands of used and projected, so
// sinks comment on material change only. A project under every threshold is
// absent from the set, which resolves its card.
//
// HygieneAlerts groups, per month, time logged without a task, and time
// logged on closed cards. Decision: "closed" means an archived Trello card
// or an Everhour task with status closed, always; a card marked done
// (dueComplete) or sitting in a list named in DoneListNames counts only when
// configured, because specialists legitimately log wrap-up time on a card
// just moved to Done.
//
// Metrics: adpacer_everhour_used_seconds and adpacer_everhour_budget_seconds
// gauges (base unit seconds) labelled by project name (config name, else Everhour name), at
// most 50 projects; never card or user ids.
//
// # Report
//
// RenderHoursReport(w, ReportInput, ReportOptions) is pure over in-memory
// records. Seconds are the unit of truth: sums are integer seconds, and
// rounding happens only when printing. H:MM rounds to the nearest minute
// (30 s rounds up); decimal hours round to the nearest hundredth (18 s
// rounds up). A total is the rounding of the summed seconds, never the sum
// of rounded rows, so rows may differ from the total by a minute or a
// hundredth. A record on a task linked to several projects counts for each
// of them in the budget section, once in the total.
package everhour
