-- One row per committed ad batch that saved stats: its revision (1, 2,
-- 3, ... in commit order, without gaps) and the earliest start among the
-- stats it saved. A reader that keeps settled stats in memory asks which
-- writes came after the revision it read at and re-reads only when one
-- reached back into what it keeps (store.Store.StatsChangesSince). Only
-- the newest rows are kept; a reader older than them re-reads everything.
CREATE TABLE stats_changes (
	rev BIGINT PRIMARY KEY,
	earliest_us BIGINT NOT NULL
);
