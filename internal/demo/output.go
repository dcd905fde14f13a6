package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/internal/cycle"
)

func printEndpoints(w io.Writer, ep Endpoints, f *fakes) {
	fmt.Fprintf(w, "adpacer demo: a simulated month of a bank's campaigns, paced by the real daemon over HTTP.\n\n")
	fmt.Fprintf(w, "  status page      %s\n  metrics          %smetrics\n", ep.Status, ep.Status)
	fmt.Fprintf(w, "  Trello board     %s   (alert and approval cards)\n", ep.TrelloBoard)
	fmt.Fprintf(w, "\nFake servers on loopback (point curl or any API client at them while the demo runs):\n")
	fmt.Fprintf(w, "  Yandex Direct    %s   Authorization: Bearer %s, Client-Login: %s\n", ep.Yandex, yandexToken, yandexLogin)
	fmt.Fprintf(w, "  Google Ads       %s   token endpoint %s, refresh token %s\n", ep.Google, ep.GoogleToken, googleRefresh)
	fmt.Fprintf(w, "  VK Ads           %s   token: POST /api/v2/oauth2/token.json grant_type=client_credentials client_id=%s client_secret=%s\n", ep.VK, vkClientID, vkSecret)
	fmt.Fprintf(w, "  Trello           %s   ?key=%s&token=%s\n", ep.Trello, trelloKey, trelloToken)
	fmt.Fprintf(w, "  Everhour         %s   X-Api-Key: %s\n\n", ep.Everhour, everhourKey)
}

type progress struct {
	w     io.Writer
	tty   bool
	total int
	last  int
}

func newProgress(w io.Writer, tty bool, total int) *progress {
	return &progress{w: w, tty: tty, total: total, last: -1}
}

func (p *progress) update(i int, now time.Time, st cycle.Status) {
	var spent, budget adpacer.Micros
	for _, l := range st.Plan.Lines {
		spent += l.Spent
	}
	for _, l := range st.Lines {
		budget += l.Budget
	}
	day := i * 15 / (24 * 60)
	const width = 30
	filled := i * width / p.total
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	line := fmt.Sprintf("%s  %s  day %2d  spent %s of %s RUB  actions %d",
		bar, now.UTC().Format("2006-01-02 15:04Z"), day, money(spent), money(budget), len(st.Plan.Actions))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", line)
		return
	}
	if day != p.last && i*15%(24*60) == 0 {
		p.last = day
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func money(m adpacer.Micros) string {
	units := int64(m / adpacer.MicrosPerUnit)
	s := fmt.Sprint(units)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func printSummary(w io.Writer, s Summary, ep Endpoints) {
	fmt.Fprintf(w, "\nSummary after %d simulated days (%d cycles) in %s:\n\n", s.Days, s.Cycles, s.Wall.Round(time.Second))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "line\tbudget\tspent\tused\tplan err\tCPA\ttarget CPA\tactions\talerts\tstatus\t")
	for _, l := range s.Lines {
		cpa, tgt := "-", "-"
		if l.CPA != nil {
			cpa = money(*l.CPA)
		}
		if l.TargetCPA != nil {
			tgt = money(*l.TargetCPA)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%.1f%%\t%s\t%s\t%d\t%d\t%s\t\n", l.ID, money(l.Budget), money(l.Spent),
			100*l.Utilisation, 100*l.PlanError, cpa, tgt, l.Actions, l.Alerts, l.Status)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nWrites sent to the platforms: %d (Yandex Direct %d, Google Ads %d, VK Ads %d; refused by the simulated market after the API accepted them: %d); approvals granted on the board: %d; alert cards: %d; hours logged in Everhour: %.1f\n",
		s.Writes, s.WritesBy[adpacer.YandexDirect], s.WritesBy[adpacer.GoogleAds], s.WritesBy[adpacer.VKAds], s.RefusedByWorld, s.ApprovalsGranted, s.AlertCards, s.HoursLogged)
	fmt.Fprintf(w, "(spent = what the platforms really charged, including spend not yet reported; CPA = spent / applications, including those still in the reporting delay; plan err = mean |spend - plan| over the month as a share of the budget)\n")
}
