-- Leader lease (internal/leader), the same contract as on PostgreSQL. On
-- SQLite one process holds the database (the .lock file), so the lease only
-- ever changes hands between that process's electors; it is kept so both
-- backends obey one behaviour. Times are Unix microseconds of the database
-- clock. Versioned far above the core schema so the series never collide.
CREATE TABLE leader_lease (
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	epoch INTEGER NOT NULL,
	acquired_us INTEGER NOT NULL,
	renewed_us INTEGER NOT NULL,
	expires_us INTEGER NOT NULL
);
