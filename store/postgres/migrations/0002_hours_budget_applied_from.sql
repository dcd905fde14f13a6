-- Everhour budget start and notification threshold. A general (not
-- recurring) budget counts from appliedFrom, so the hours alerts need it to
-- know which records the budget has used. '' means unset, as in
-- adpacer.HoursBudget; threshold 0 means unset.
ALTER TABLE everhour_projects ADD COLUMN budget_applied_from TEXT NOT NULL DEFAULT '';
ALTER TABLE everhour_projects ADD COLUMN budget_threshold INTEGER NOT NULL DEFAULT 0;
