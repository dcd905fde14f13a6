package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

func validateBoardBatch(b adpacer.BoardBatch) error {
	if b.Board.ID == "" {
		return store.Invalid("board.id", "empty board id")
	}
	for i, l := range b.Lists {
		if l.ID == "" {
			return store.Invalid(fmt.Sprintf("lists[%d].id", i), "empty list id")
		}
	}
	for i, l := range b.Labels {
		if l.ID == "" {
			return store.Invalid(fmt.Sprintf("labels[%d].id", i), "empty label id")
		}
	}
	for i, m := range b.Members {
		if m.ID == "" {
			return store.Invalid(fmt.Sprintf("members[%d].id", i), "empty member id")
		}
	}
	for i, c := range b.Cards {
		if c.ID == "" {
			return store.Invalid(fmt.Sprintf("cards[%d].id", i), "empty card id")
		}
		if c.BoardID != "" && c.BoardID != b.Board.ID {
			return store.Invalid(fmt.Sprintf("cards[%d].board_id", i), fmt.Sprintf("card %s is on board %s, not on the pulled board %s", c.ID, c.BoardID, b.Board.ID))
		}
	}
	return nil
}

// SaveBoardBatch implements store.Store.
func (s *Store) SaveBoardBatch(ctx context.Context, source string, b adpacer.BoardBatch, cur adpacer.Cursor) error {
	if source == "" {
		return store.Invalid("source", "empty source name")
	}
	if err := validateBoardBatch(b); err != nil {
		return err
	}
	return s.write(ctx, "save board batch of "+source, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, `INSERT INTO boards (id, name, closed) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, closed = excluded.closed`, b.Board.ID, b.Board.Name, b.Board.Closed); err != nil {
			return err
		}
		for _, l := range b.Lists {
			board := l.BoardID
			if board == "" {
				board = b.Board.ID
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO lists (id, board_id, name, closed, pos) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET board_id = excluded.board_id, name = excluded.name, closed = excluded.closed, pos = excluded.pos`,
				l.ID, board, l.Name, l.Closed, l.Pos); err != nil {
				return err
			}
		}
		for _, l := range b.Labels {
			board := l.BoardID
			if board == "" {
				board = b.Board.ID
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO labels (id, board_id, name, color) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET board_id = excluded.board_id, name = excluded.name, color = excluded.color`,
				l.ID, board, l.Name, l.Color); err != nil {
				return err
			}
		}
		for _, m := range b.Members {
			if _, err := s.txExec(ctx, tx, `INSERT INTO members (id, username, full_name) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET username = excluded.username, full_name = excluded.full_name`,
				m.ID, m.Username, m.FullName); err != nil {
				return err
			}
		}
		for _, c := range b.Cards {
			var due any
			if c.Due != nil {
				due = c.Due.UnixMicro()
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO cards (id, board_id, list_id, name, descr, label_ids, member_ids, due_us,
				due_complete, closed, last_activity_us, short_url, custom_fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET board_id = excluded.board_id, list_id = excluded.list_id, name = excluded.name,
				descr = excluded.descr, label_ids = excluded.label_ids, member_ids = excluded.member_ids, due_us = excluded.due_us,
				due_complete = excluded.due_complete, closed = excluded.closed, last_activity_us = excluded.last_activity_us,
				short_url = excluded.short_url, custom_fields = excluded.custom_fields`,
				c.ID, b.Board.ID, c.ListID, c.Name, c.Desc, jsonText(nonNilStrings(c.LabelIDs)), jsonText(nonNilStrings(c.MemberIDs)), due,
				c.DueComplete, c.Closed, usArg(c.LastActivity), c.ShortURL, jsonText(nonNilMap(c.CustomFields))); err != nil {
				return err
			}
		}
		return s.saveCursor(ctx, tx, source, cur)
	})
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Boards implements store.Store.
func (s *Store) Boards(ctx context.Context) ([]adpacer.Board, error) {
	rows, err := s.query(ctx, `SELECT id, name, closed FROM boards ORDER BY id`)
	if err != nil {
		return nil, s.readErr("boards", err)
	}
	defer rows.Close()
	var out []adpacer.Board
	for rows.Next() {
		var b adpacer.Board
		if err := rows.Scan(&b.ID, &b.Name, &b.Closed); err != nil {
			return nil, s.readErr("boards", err)
		}
		out = append(out, b)
	}
	return out, s.rowsErr("boards", rows)
}

func boardFilter(boardID string) (string, []any) {
	if boardID == "" {
		return "", nil
	}
	return " WHERE board_id = ?", []any{boardID}
}

// Lists implements store.Store.
func (s *Store) Lists(ctx context.Context, boardID string) ([]adpacer.List, error) {
	where, args := boardFilter(boardID)
	rows, err := s.query(ctx, `SELECT id, board_id, name, closed, pos FROM lists`+where+` ORDER BY board_id, pos, id`, args...)
	if err != nil {
		return nil, s.readErr("lists", err)
	}
	defer rows.Close()
	var out []adpacer.List
	for rows.Next() {
		var l adpacer.List
		if err := rows.Scan(&l.ID, &l.BoardID, &l.Name, &l.Closed, &l.Pos); err != nil {
			return nil, s.readErr("lists", err)
		}
		out = append(out, l)
	}
	return out, s.rowsErr("lists", rows)
}

// Labels implements store.Store.
func (s *Store) Labels(ctx context.Context, boardID string) ([]adpacer.Label, error) {
	where, args := boardFilter(boardID)
	rows, err := s.query(ctx, `SELECT id, board_id, name, color FROM labels`+where+` ORDER BY board_id, id`, args...)
	if err != nil {
		return nil, s.readErr("labels", err)
	}
	defer rows.Close()
	var out []adpacer.Label
	for rows.Next() {
		var l adpacer.Label
		if err := rows.Scan(&l.ID, &l.BoardID, &l.Name, &l.Color); err != nil {
			return nil, s.readErr("labels", err)
		}
		out = append(out, l)
	}
	return out, s.rowsErr("labels", rows)
}

// Members implements store.Store.
func (s *Store) Members(ctx context.Context) ([]adpacer.Member, error) {
	rows, err := s.query(ctx, `SELECT id, username, full_name FROM members ORDER BY id`)
	if err != nil {
		return nil, s.readErr("members", err)
	}
	defer rows.Close()
	var out []adpacer.Member
	for rows.Next() {
		var m adpacer.Member
		if err := rows.Scan(&m.ID, &m.Username, &m.FullName); err != nil {
			return nil, s.readErr("members", err)
		}
		out = append(out, m)
	}
	return out, s.rowsErr("members", rows)
}

// Cards implements store.Store.
func (s *Store) Cards(ctx context.Context, boardID string) ([]adpacer.Card, error) {
	where, args := boardFilter(boardID)
	rows, err := s.query(ctx, `SELECT id, board_id, list_id, name, descr, label_ids, member_ids, due_us, due_complete,
		closed, last_activity_us, short_url, custom_fields FROM cards`+where+` ORDER BY board_id, id`, args...)
	if err != nil {
		return nil, s.readErr("cards", err)
	}
	defer rows.Close()
	var out []adpacer.Card
	for rows.Next() {
		var c adpacer.Card
		var labels, members, custom string
		var due, last sql.NullInt64
		if err := rows.Scan(&c.ID, &c.BoardID, &c.ListID, &c.Name, &c.Desc, &labels, &members, &due, &c.DueComplete,
			&c.Closed, &last, &c.ShortURL, &custom); err != nil {
			return nil, s.readErr("cards", err)
		}
		if err := json.Unmarshal([]byte(labels), &c.LabelIDs); err != nil {
			return nil, fmt.Errorf("store: card %s: label_ids: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(members), &c.MemberIDs); err != nil {
			return nil, fmt.Errorf("store: card %s: member_ids: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(custom), &c.CustomFields); err != nil {
			return nil, fmt.Errorf("store: card %s: custom_fields: %w", c.ID, err)
		}
		if due.Valid {
			t := fromUS(due)
			c.Due = &t
		}
		c.LastActivity = fromUS(last)
		out = append(out, c)
	}
	return out, s.rowsErr("cards", rows)
}

func validateTimeBatch(b adpacer.TimeBatch) error {
	if (b.From == "") != (b.To == "") {
		return store.Invalid("from", "from and to must be given together")
	}
	if b.From != "" {
		if !validDate(b.From) {
			return store.Invalid("from", fmt.Sprintf("%q is not a date YYYY-MM-DD", b.From))
		}
		if !validDate(b.To) {
			return store.Invalid("to", fmt.Sprintf("%q is not a date YYYY-MM-DD", b.To))
		}
		if b.To < b.From {
			return store.Invalid("to", fmt.Sprintf("%s is before from %s", b.To, b.From))
		}
	}
	for i, u := range b.Users {
		if u.ID <= 0 {
			return store.Invalid(fmt.Sprintf("users[%d].id", i), fmt.Sprintf("user id %d is not positive", u.ID))
		}
	}
	for i, p := range b.Projects {
		if p.ID == "" {
			return store.Invalid(fmt.Sprintf("projects[%d].id", i), "empty project id")
		}
		if p.Budget != nil && (p.Budget.BudgetSecs < 0 || p.Budget.BudgetCents < 0 || p.Budget.Progress < 0) {
			return store.Invalid(fmt.Sprintf("projects[%d].budget", i), fmt.Sprintf("negative budget or progress in project %s", p.ID))
		}
		if p.Budget != nil && p.Budget.AppliedFrom != "" && !validDate(p.Budget.AppliedFrom) {
			return store.Invalid(fmt.Sprintf("projects[%d].budget.applied_from", i), fmt.Sprintf("%q is not a date YYYY-MM-DD", p.Budget.AppliedFrom))
		}
	}
	for i, t := range b.Tasks {
		if t.ID == "" {
			return store.Invalid(fmt.Sprintf("tasks[%d].id", i), "empty task id")
		}
	}
	seen := make(map[int64]bool, len(b.Records))
	for i, r := range b.Records {
		f := func(n string) string { return fmt.Sprintf("records[%d].%s", i, n) }
		switch {
		case r.ID <= 0:
			return store.Invalid(f("id"), fmt.Sprintf("record id %d is not positive", r.ID))
		case seen[r.ID]:
			return store.Invalid(f("id"), fmt.Sprintf("record id %d appears twice in the batch", r.ID))
		case !validDate(r.Date):
			return store.Invalid(f("date"), fmt.Sprintf("%q is not a date YYYY-MM-DD", r.Date))
		case b.From != "" && (r.Date < b.From || r.Date > b.To):
			return store.Invalid(f("date"), fmt.Sprintf("record %d dated %s is outside the pulled range %s..%s", r.ID, r.Date, b.From, b.To))
		case r.Seconds < 0:
			return store.Invalid(f("seconds"), fmt.Sprintf("negative time %d s in record %d", r.Seconds, r.ID))
		}
		seen[r.ID] = true
	}
	return nil
}

// SaveTimeBatch implements store.Store.
func (s *Store) SaveTimeBatch(ctx context.Context, source string, b adpacer.TimeBatch, cur adpacer.Cursor) error {
	if source == "" {
		return store.Invalid("source", "empty source name")
	}
	if err := validateTimeBatch(b); err != nil {
		return err
	}
	return s.write(ctx, "save time batch of "+source, func(tx *sql.Tx) error {
		for _, u := range b.Users {
			if _, err := s.txExec(ctx, tx, `INSERT INTO everhour_users (id, name, email) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email`, u.ID, u.Name, u.Email); err != nil {
				return err
			}
		}
		for _, p := range b.Projects {
			var typ, period, appliedFrom string
			var secs, cents, progress int64
			var threshold int
			has := p.Budget != nil
			if has {
				typ, period, secs, cents, progress = p.Budget.Type, p.Budget.Period, p.Budget.BudgetSecs, p.Budget.BudgetCents, p.Budget.Progress
				appliedFrom, threshold = p.Budget.AppliedFrom, p.Budget.Threshold
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO everhour_projects (id, name, has_budget, budget_type, budget_period,
				budget_secs, budget_cents, budget_progress, budget_applied_from, budget_threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, has_budget = excluded.has_budget, budget_type = excluded.budget_type,
				budget_period = excluded.budget_period, budget_secs = excluded.budget_secs, budget_cents = excluded.budget_cents,
				budget_progress = excluded.budget_progress, budget_applied_from = excluded.budget_applied_from,
				budget_threshold = excluded.budget_threshold`, p.ID, p.Name, has, typ, period, secs, cents, progress, appliedFrom, threshold); err != nil {
				return err
			}
		}
		for _, t := range b.Tasks {
			if _, err := s.txExec(ctx, tx, `INSERT INTO everhour_tasks (id, project_ids, name, trello_card, status) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET project_ids = excluded.project_ids, name = excluded.name, trello_card = excluded.trello_card,
				status = excluded.status`, t.ID, jsonText(nonNilStrings(t.ProjectIDs)), t.Name, t.TrelloCard, t.Status); err != nil {
				return err
			}
		}
		keep := make(map[int64]bool, len(b.Records))
		for _, r := range b.Records {
			keep[r.ID] = true
			if _, err := s.txExec(ctx, tx, `INSERT INTO time_records (id, user_id, date, seconds, task_id, comment) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, date = excluded.date, seconds = excluded.seconds,
				task_id = excluded.task_id, comment = excluded.comment`, r.ID, r.UserID, r.Date, r.Seconds, r.TaskID, r.Comment); err != nil {
				return err
			}
		}
		if b.From != "" {
			// Reconcile: records deleted upstream disappear locally too.
			rows, err := s.txQuery(ctx, tx, `SELECT id FROM time_records WHERE date >= ? AND date <= ?`, b.From, b.To)
			if err != nil {
				return err
			}
			var gone []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				if !keep[id] {
					gone = append(gone, id)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(gone) > 0 {
				cond, arg := s.inInt("id", gone)
				if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM time_records WHERE `+cond), arg); err != nil {
					return err
				}
			}
		}
		return s.saveCursor(ctx, tx, source, cur)
	})
}

// TimeRecords implements store.Store.
func (s *Store) TimeRecords(ctx context.Context, from, to string) ([]adpacer.TimeRecord, error) {
	if !validDate(from) {
		return nil, store.Invalid("from", fmt.Sprintf("%q is not a date YYYY-MM-DD", from))
	}
	if !validDate(to) {
		return nil, store.Invalid("to", fmt.Sprintf("%q is not a date YYYY-MM-DD", to))
	}
	rows, err := s.query(ctx, `SELECT id, user_id, date, seconds, task_id, comment FROM time_records
		WHERE date >= ? AND date <= ? ORDER BY date, id`, from, to)
	if err != nil {
		return nil, s.readErr("time records", err)
	}
	defer rows.Close()
	var out []adpacer.TimeRecord
	for rows.Next() {
		var r adpacer.TimeRecord
		if err := rows.Scan(&r.ID, &r.UserID, &r.Date, &r.Seconds, &r.TaskID, &r.Comment); err != nil {
			return nil, s.readErr("time records", err)
		}
		out = append(out, r)
	}
	return out, s.rowsErr("time records", rows)
}

// EverhourTasks implements store.Store.
func (s *Store) EverhourTasks(ctx context.Context) ([]adpacer.EverhourTask, error) {
	rows, err := s.query(ctx, `SELECT id, project_ids, name, trello_card, status FROM everhour_tasks ORDER BY id`)
	if err != nil {
		return nil, s.readErr("everhour tasks", err)
	}
	defer rows.Close()
	var out []adpacer.EverhourTask
	for rows.Next() {
		var t adpacer.EverhourTask
		var projects string
		if err := rows.Scan(&t.ID, &projects, &t.Name, &t.TrelloCard, &t.Status); err != nil {
			return nil, s.readErr("everhour tasks", err)
		}
		if err := json.Unmarshal([]byte(projects), &t.ProjectIDs); err != nil {
			return nil, fmt.Errorf("store: everhour task %s: project_ids: %w", t.ID, err)
		}
		out = append(out, t)
	}
	return out, s.rowsErr("everhour tasks", rows)
}

// EverhourProjects implements store.Store.
func (s *Store) EverhourProjects(ctx context.Context) ([]adpacer.EverhourProject, error) {
	rows, err := s.query(ctx, `SELECT id, name, has_budget, budget_type, budget_period, budget_secs, budget_cents, budget_progress,
		budget_applied_from, budget_threshold FROM everhour_projects ORDER BY id`)
	if err != nil {
		return nil, s.readErr("everhour projects", err)
	}
	defer rows.Close()
	var out []adpacer.EverhourProject
	for rows.Next() {
		var p adpacer.EverhourProject
		var has bool
		var b adpacer.HoursBudget
		if err := rows.Scan(&p.ID, &p.Name, &has, &b.Type, &b.Period, &b.BudgetSecs, &b.BudgetCents, &b.Progress,
			&b.AppliedFrom, &b.Threshold); err != nil {
			return nil, s.readErr("everhour projects", err)
		}
		if has {
			p.Budget = &b
		}
		out = append(out, p)
	}
	return out, s.rowsErr("everhour projects", rows)
}

// EverhourUsers implements store.Store.
func (s *Store) EverhourUsers(ctx context.Context) ([]adpacer.EverhourUser, error) {
	rows, err := s.query(ctx, `SELECT id, name, email FROM everhour_users ORDER BY id`)
	if err != nil {
		return nil, s.readErr("everhour users", err)
	}
	defer rows.Close()
	var out []adpacer.EverhourUser
	for rows.Next() {
		var u adpacer.EverhourUser
		if err := rows.Scan(&u.ID, &u.Name, &u.Email); err != nil {
			return nil, s.readErr("everhour users", err)
		}
		out = append(out, u)
	}
	return out, s.rowsErr("everhour users", rows)
}
