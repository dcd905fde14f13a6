package everhour

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-project paid-hours gauges. The project label is the
// configured name (or the Everhour project name): projects are few, and
// card or user ids are never labels.
type Metrics struct {
	used, budget *prometheus.GaugeVec
	maxProjects  int

	mu sync.Mutex
}

// NewMetrics registers adpacer_everhour_used_seconds and
// adpacer_everhour_budget_seconds on reg (base unit seconds, as
// Prometheus naming and promlint require; dashboards divide by 3600). maxProjects bounds the label set
// (default 50); projects beyond it are not exported.
func NewMetrics(reg prometheus.Registerer, maxProjects int) (*Metrics, error) {
	if maxProjects <= 0 {
		maxProjects = 50
	}
	m := &Metrics{
		used: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_everhour_used_seconds",
			Help: "Time logged in Everhour in the current budget period, by project, in seconds.",
		}, []string{"project"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adpacer_everhour_budget_seconds",
			Help: "Paid time of the current budget period, by project, in seconds.",
		}, []string{"project"}),
		maxProjects: maxProjects,
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.used, m.budget} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					return nil, fmt.Errorf("everhour: metrics already registered: create Metrics once and share it")
				}
				return nil, fmt.Errorf("everhour: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Observe replaces the gauges with statuses (projects that disappeared or
// lost their budget stop being exported). Values are the store's integer
// seconds, exported as they are.
func (m *Metrics) Observe(statuses []BudgetStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.used.Reset()
	m.budget.Reset()
	seen := map[string]bool{}
	for i, st := range statuses {
		if i == m.maxProjects {
			break
		}
		label := st.Name
		if seen[label] {
			// Two projects share a name: keep both series apart.
			label = st.Name + " (" + st.ProjectID + ")"
		}
		seen[label] = true
		m.used.WithLabelValues(label).Set(float64(st.UsedSecs))
		m.budget.WithLabelValues(label).Set(float64(st.BudgetSecs))
	}
}
