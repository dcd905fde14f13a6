-- Leader lease for several replicas (internal/leader). One row per lease
-- name; a replica holds it while expires_at (database clock) is in the
-- future. Whoever takes it over bumps leader.epoch in the same transaction,
-- so every ledger write of the previous holder is fenced. Versioned far above
-- the core schema so the two migration series never collide.
CREATE TABLE leader_lease (
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	epoch BIGINT NOT NULL,
	acquired_at TIMESTAMPTZ NOT NULL,
	renewed_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
