package adpacer

import "time"

// Project-management records pulled from Trello and Everhour.

// Board is a Trello board.
type Board struct {
	ID, Name string
	Closed   bool
}

// List is a Trello list (column).
type List struct {
	ID, BoardID, Name string
	Closed            bool
	Pos               float64
}

// Label is a Trello label.
type Label struct {
	ID, BoardID, Name, Color string
}

// Member is a Trello member.
type Member struct {
	ID, Username, FullName string
}

// Card is a Trello card with the fields adpacer keeps.
type Card struct {
	ID, BoardID, ListID string
	Name, Desc          string
	LabelIDs            []string
	MemberIDs           []string
	Due                 *time.Time
	DueComplete         bool
	Closed              bool
	LastActivity        time.Time
	ShortURL            string
	CustomFields        map[string]string // custom field id -> value as text
}

// EverhourUser is a person tracking time.
type EverhourUser struct {
	ID    int64
	Name  string
	Email string
}

// EverhourProject is an Everhour project; Budget is nil when none is set.
type EverhourProject struct {
	ID     string // prefixed, e.g. "tr:abc123" for Trello-linked projects
	Name   string
	Budget *HoursBudget
}

// HoursBudget is a time budget of a project.
type HoursBudget struct {
	Type        string // "time" or "money"
	Period      string // general, monthly, weekly, daily
	BudgetSecs  int64  // for time budgets
	BudgetCents int64  // for money budgets
	Progress    int64  // seconds (time) or cents (money) used in the current period
	AppliedFrom string // YYYY-MM-DD start of a general budget, "" when unset
	Threshold   int    // percent at which Everhour notifies admins, 0 when unset
}

// EverhourTask is a task; Trello-linked tasks carry the card id.
type EverhourTask struct {
	ID         string // e.g. "tr:5f1a..."
	ProjectIDs []string
	Name       string
	TrelloCard string // Trello card id when linked
	Status     string // open, closed
}

// TimeRecord is time logged by one user on one date, optionally on a task.
type TimeRecord struct {
	ID      int64
	UserID  int64
	Date    string // YYYY-MM-DD
	Seconds int64
	TaskID  string // empty when logged to no task
	Comment string
}
