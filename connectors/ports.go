// Package connectors holds what every connector shares: the pull contracts
// the daemon's runner drives. Each connector lives in its own subpackage
// beside its fake server (connectors/<name>/<name>test).
package connectors

import (
	"context"
	"fmt"
	"time"

	"github.com/adpacer/adpacer"
)

// AdPullRequest says what an ad-platform pull must cover.
type AdPullRequest struct {
	Now time.Time
	// StatsFrom is the first day (YYYY-MM-DD, in the account's zone) whose
	// statistics must be (re)read: 35 days back on the first pull, the
	// restatement window afterwards.
	StatsFrom string
}

// Days resolves the platform days a pull reads, in the platform's day zone:
// today (the day containing now) and the first day whose statistics are
// (re)read: StatsFrom, or restatementDays before today when it is unset;
// a StatsFrom after today reads today. A StatsFrom before oldest(today)
// (the platform's retention) is an error naming the field and the first
// date allowed; so is a malformed one.
func (r AdPullRequest) Days(now time.Time, zone *time.Location, restatementDays int, oldest func(today time.Time) time.Time) (today, from time.Time, err error) {
	n := now.In(zone)
	today = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	from = today.AddDate(0, 0, -restatementDays)
	if r.StatsFrom != "" {
		if from, err = time.ParseInLocation(time.DateOnly, r.StatsFrom, zone); err != nil {
			return today, from, fmt.Errorf("StatsFrom %q must be a date YYYY-MM-DD", r.StatsFrom)
		}
	}
	if from.After(today) {
		from = today
	}
	if o := oldest(today); from.Before(o) {
		return today, from, fmt.Errorf("StatsFrom %s is older than the platform keeps statistics; use %s or later", from.Format(time.DateOnly), o.Format(time.DateOnly))
	}
	return today, from, nil
}

// AdSource pulls campaigns, statistics, today's spend and ad moderation of
// one ad-platform account.
type AdSource interface {
	Platform() adpacer.Platform
	Pull(ctx context.Context, req AdPullRequest) (adpacer.AdBatch, error)
}

// BoardSource pulls Trello boards.
type BoardSource interface {
	PullBoards(ctx context.Context) ([]adpacer.BoardBatch, error)
}

// TimeSource pulls Everhour between two inclusive dates.
type TimeSource interface {
	PullTime(ctx context.Context, from, to string) (adpacer.TimeBatch, error)
}
