// Package connectors holds what every connector shares: the pull contracts
// the daemon's runner drives. Each connector lives in its own subpackage
// beside its fake server (connectors/<name>/<name>test).
package connectors

import (
	"context"
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
