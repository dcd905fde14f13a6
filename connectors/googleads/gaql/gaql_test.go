package gaql

import (
	"errors"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		q       *Query
		want    string
		wantErr string
	}{
		{
			name: "plain select",
			q:    Select("campaign.id", "campaign.name").From("campaign"),
			want: "SELECT campaign.id, campaign.name FROM campaign",
		},
		{
			name: "where with enum, ints and order, limit",
			q: Select("campaign.id", "campaign.status").From("campaign").
				Where(Neq("campaign.status", Enum("REMOVED")), In("campaign.id", Int(1), Int(22))).
				OrderByDesc("campaign.id").Limit(5),
			want: "SELECT campaign.id, campaign.status FROM campaign WHERE campaign.status != REMOVED AND campaign.id IN (1, 22) ORDER BY campaign.id DESC LIMIT 5",
		},
		{
			name: "string quoting escapes quotes and backslashes",
			q:    Select("campaign.id").From("campaign").Where(Eq("campaign.name", String(`it's a \ test`))),
			want: `SELECT campaign.id FROM campaign WHERE campaign.name = 'it\'s a \\ test'`,
		},
		{
			name: "date between",
			q:    Select("campaign.id", "segments.date", "segments.hour", "metrics.cost_micros").From("campaign").Where(DateBetween("segments.date", "2026-09-01", "2026-09-07")),
			want: "SELECT campaign.id, segments.date, segments.hour, metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '2026-09-01' AND '2026-09-07'",
		},
		{
			name: "during predefined",
			q:    Select("segments.date").From("campaign").Where(During("segments.date", "LAST_7_DAYS")),
			want: "SELECT segments.date FROM campaign WHERE segments.date DURING LAST_7_DAYS",
		},
		{
			name: "two bounds satisfy the date rule",
			q:    Select("segments.date").From("campaign").Where(Gte("segments.date", Date("2026-01-01")), Lte("segments.date", Date("2026-01-31"))),
			want: "SELECT segments.date FROM campaign WHERE segments.date >= '2026-01-01' AND segments.date <= '2026-01-31'",
		},
		{name: "during LAST_90_DAYS", q: Select("segments.date").From("campaign").Where(During("segments.date", "LAST_90_DAYS")), wantErr: "only predefined ranges"},
		{name: "date selected without range", q: Select("campaign.id", "segments.date").From("campaign"), wantErr: "without a segments.date range"},
		{name: "only lower bound", q: Select("segments.date").From("campaign").Where(Gte("segments.date", Date("2026-01-01"))), wantErr: "only one bound"},
		{name: "where on date without selecting it, one bound", q: Select("campaign.id").From("campaign").Where(Lt("segments.date", Date("2026-01-01"))), wantErr: "only one bound"},
		{name: "start after end", q: Select("segments.date").From("campaign").Where(DateBetween("segments.date", "2026-02-01", "2026-01-01")), wantErr: "start is after end"},
		{name: "bad date", q: Select("segments.date").From("campaign").Where(DateBetween("segments.date", "2026-02-30", "2026-03-01")), wantErr: "existing calendar date"},
		{name: "no fields", q: Select().From("campaign"), wantErr: "no fields"},
		{name: "bad field injection", q: Select("campaign.id FROM x --").From("campaign"), wantErr: "select field"},
		{name: "bad resource", q: Select("campaign.id").From("campaign; DROP"), wantErr: "from resource"},
		{name: "bad enum", q: Select("campaign.id").From("campaign").Where(Eq("campaign.status", Enum("enabled"))), wantErr: "UPPER_SNAKE"},
		{name: "empty in", q: Select("campaign.id").From("campaign").Where(In("campaign.id")), wantErr: "value list is empty"},
		{name: "zero value", q: Select("campaign.id").From("campaign").Where(Eq("campaign.id", Value{})), wantErr: "empty value"},
		{name: "order by unselected", q: Select("campaign.id").From("campaign").OrderBy("campaign.name"), wantErr: "must also be selected"},
		{name: "duplicate field", q: Select("campaign.id", "campaign.id").From("campaign"), wantErr: "twice"},
		{name: "negative limit", q: Select("campaign.id").From("campaign").Limit(-1), wantErr: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Build()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Build() = %q, %v; want error containing %q wrapping ErrInvalid", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build(): %v", err)
			}
			if got != tt.want {
				t.Fatalf("Build()\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
