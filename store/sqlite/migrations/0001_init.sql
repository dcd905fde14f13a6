-- adpacer schema v1 (SQLite). Times are integer Unix microseconds (*_us),
-- money integer micros. Hourly stats are packed per campaign-week
-- (store/internal/weekblock); other intervals are rows of stats_other.
CREATE TABLE campaigns (
	key INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	platform TEXT NOT NULL,
	account_id TEXT NOT NULL,
	name TEXT NOT NULL,
	time_zone TEXT NOT NULL,
	currency TEXT NOT NULL,
	state TEXT NOT NULL,
	daily_budget INTEGER CHECK (daily_budget >= 0),
	bid INTEGER CHECK (bid >= 0),
	strategy TEXT NOT NULL,
	budget_edits_today INTEGER NOT NULL,
	updated_us INTEGER,
	source TEXT NOT NULL
);

-- wk = week << 32 | campaign_key is the rowid: rows sit in (week, campaign)
-- order for the pacing range scan, and a rowid table keeps the ~1.5 KB
-- blobs inline (a WITHOUT ROWID table would spill them to overflow pages).
CREATE TABLE stats_hourly (
	wk INTEGER PRIMARY KEY,
	week INTEGER NOT NULL,
	campaign_key INTEGER NOT NULL REFERENCES campaigns (key),
	data BLOB NOT NULL,
	CHECK (wk = week * 4294967296 + campaign_key)
);
CREATE INDEX stats_hourly_campaign ON stats_hourly (campaign_key);

CREATE TABLE stats_other (
	campaign_key INTEGER NOT NULL REFERENCES campaigns (key),
	start_us INTEGER NOT NULL,
	end_us INTEGER NOT NULL,
	cost INTEGER NOT NULL CHECK (cost >= 0),
	clicks INTEGER NOT NULL CHECK (clicks >= 0),
	impressions INTEGER NOT NULL CHECK (impressions >= 0),
	conversions REAL NOT NULL CHECK (conversions >= 0),
	PRIMARY KEY (campaign_key, start_us, end_us)
) WITHOUT ROWID;

CREATE TABLE spend_snapshots (
	campaign_id TEXT NOT NULL REFERENCES campaigns (id),
	day TEXT NOT NULL,
	at_us INTEGER NOT NULL,
	cost INTEGER NOT NULL CHECK (cost >= 0),
	PRIMARY KEY (campaign_id, day, at_us)
) WITHOUT ROWID;
CREATE INDEX spend_snapshots_day ON spend_snapshots (day);

CREATE TABLE ad_statuses (
	campaign_id TEXT NOT NULL REFERENCES campaigns (id),
	ad_id TEXT NOT NULL,
	status TEXT NOT NULL,
	reason TEXT NOT NULL,
	at_us INTEGER,
	PRIMARY KEY (campaign_id, ad_id)
) WITHOUT ROWID;

CREATE TABLE cursors (
	source TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_us INTEGER
);

CREATE TABLE budget_lines (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	directorate TEXT NOT NULL,
	region TEXT NOT NULL,
	client TEXT NOT NULL,
	owner TEXT NOT NULL,
	time_zone TEXT NOT NULL,
	period_start TEXT NOT NULL,
	period_end TEXT NOT NULL,
	budget INTEGER NOT NULL CHECK (budget >= 0),
	currency TEXT NOT NULL,
	vat_included BOOLEAN NOT NULL,
	target_cpa INTEGER CHECK (target_cpa >= 0),
	mode TEXT NOT NULL
);

-- Campaigns may be configured into a line before their first pull, so
-- campaign_id is not a foreign key.
CREATE TABLE budget_line_campaigns (
	line_id TEXT NOT NULL REFERENCES budget_lines (id) ON DELETE CASCADE,
	campaign_id TEXT NOT NULL,
	effective_from_us INTEGER NOT NULL,
	effective_to_us INTEGER,
	PRIMARY KEY (line_id, campaign_id, effective_from_us)
);
CREATE INDEX budget_line_campaigns_campaign ON budget_line_campaigns (campaign_id);

CREATE TABLE boards (id TEXT PRIMARY KEY, name TEXT NOT NULL, closed BOOLEAN NOT NULL);
CREATE TABLE lists (id TEXT PRIMARY KEY, board_id TEXT NOT NULL, name TEXT NOT NULL, closed BOOLEAN NOT NULL, pos REAL NOT NULL);
CREATE INDEX lists_board ON lists (board_id);
CREATE TABLE labels (id TEXT PRIMARY KEY, board_id TEXT NOT NULL, name TEXT NOT NULL, color TEXT NOT NULL);
CREATE INDEX labels_board ON labels (board_id);
CREATE TABLE members (id TEXT PRIMARY KEY, username TEXT NOT NULL, full_name TEXT NOT NULL);
CREATE TABLE cards (
	id TEXT PRIMARY KEY,
	board_id TEXT NOT NULL,
	list_id TEXT NOT NULL,
	name TEXT NOT NULL,
	descr TEXT NOT NULL,
	label_ids TEXT NOT NULL,
	member_ids TEXT NOT NULL,
	due_us INTEGER,
	due_complete BOOLEAN NOT NULL,
	closed BOOLEAN NOT NULL,
	last_activity_us INTEGER,
	short_url TEXT NOT NULL,
	custom_fields TEXT NOT NULL
);
CREATE INDEX cards_board ON cards (board_id);

CREATE TABLE everhour_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE everhour_projects (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	has_budget BOOLEAN NOT NULL,
	budget_type TEXT NOT NULL,
	budget_period TEXT NOT NULL,
	budget_secs INTEGER NOT NULL,
	budget_cents INTEGER NOT NULL,
	budget_progress INTEGER NOT NULL
);
CREATE TABLE everhour_tasks (id TEXT PRIMARY KEY, project_ids TEXT NOT NULL, name TEXT NOT NULL, trello_card TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE time_records (
	id INTEGER PRIMARY KEY,
	user_id INTEGER NOT NULL,
	date TEXT NOT NULL,
	seconds INTEGER NOT NULL CHECK (seconds >= 0),
	task_id TEXT NOT NULL,
	comment TEXT NOT NULL
);
CREATE INDEX time_records_date ON time_records (date);

CREATE TABLE leader (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	epoch INTEGER NOT NULL,
	updated_us INTEGER
);
INSERT INTO leader (id, epoch) VALUES (1, 0);

CREATE TABLE actions (
	key TEXT PRIMARY KEY,
	campaign_id TEXT NOT NULL,
	line_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	value INTEGER,
	previous INTEGER,
	reason TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('planned', 'claimed', 'applied', 'noop', 'failed', 'held', 'rejected')),
	before INTEGER,
	detail TEXT NOT NULL,
	epoch INTEGER NOT NULL,
	planned_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL
);
CREATE INDEX actions_state ON actions (state);
CREATE INDEX actions_campaign ON actions (campaign_id, planned_us);
CREATE INDEX actions_planned ON actions (planned_us);

CREATE TABLE alerts (
	key TEXT PRIMARY KEY,
	card_id TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	severity TEXT NOT NULL,
	status TEXT NOT NULL,
	healthy_cycles INTEGER NOT NULL,
	opened_us INTEGER,
	updated_us INTEGER,
	resolved_us INTEGER,
	last_seen_us INTEGER
);

CREATE TABLE oauth_tokens (
	name TEXT PRIMARY KEY,
	access_token TEXT NOT NULL,
	refresh_token TEXT NOT NULL,
	token_type TEXT NOT NULL,
	expiry_us INTEGER,
	updated_us INTEGER NOT NULL
);

CREATE TABLE audit_log (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	at_us INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action_key TEXT NOT NULL,
	campaign_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	before INTEGER,
	after INTEGER,
	outcome TEXT NOT NULL,
	detail TEXT NOT NULL,
	approved_by TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_us);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
