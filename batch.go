package adpacer

import "time"

// Batches are what a connector's pull returns and what the store writes in
// one transaction together with the connector's cursor, so a cursor never
// runs ahead of the data it follows.

// AdBatch is one pull of an ad platform account.
type AdBatch struct {
	Campaigns []Campaign
	// Stats are upserted by (campaign, start, end); restated days overwrite.
	Stats []Stat
	// Snapshots are intraday cumulative spend observations (append, idempotent
	// by (campaign, day, at)).
	Snapshots []SpendSnapshot
	Ads       []AdStatus
}

// BoardBatch is one pull of a Trello board. Cards absent from a full pull are
// not deleted (Trello archives rather than deletes); Closed marks them.
type BoardBatch struct {
	Board   Board
	Lists   []List
	Labels  []Label
	Members []Member
	Cards   []Card
}

// TimeBatch is one pull of Everhour. Records is the complete set of time
// records with From <= date <= To (inclusive, YYYY-MM-DD): the store deletes
// local records in that range that are not in Records, so records deleted
// upstream disappear locally too.
type TimeBatch struct {
	Users    []EverhourUser
	Projects []EverhourProject
	Tasks    []EverhourTask
	From, To string
	Records  []TimeRecord
	PulledAt time.Time
}
