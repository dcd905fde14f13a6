package deploy

import (
	"encoding/json"
	"fmt"
	"os"
)

// Dashboard is the part of a Grafana dashboard the checks read.
type Dashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr         string `json:"expr"`
			LegendFormat string `json:"legendFormat"`
			Datasource   struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

// LoadDashboard reads and checks the shipped dashboard's shape; it returns
// every PromQL expression so the daemon's tests can check metric names.
func LoadDashboard(path string) (Dashboard, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Dashboard{}, nil, err
	}
	var d Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.UID == "" || len(d.UID) > 40 {
		return d, nil, fmt.Errorf("%s: uid must be set and at most 40 characters", path)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Name == "datasource" {
			hasDS = true
		}
	}
	if !hasDS {
		return d, nil, fmt.Errorf("%s: templating needs a datasource variable named datasource", path)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Datasource.UID != "${datasource}" {
			return d, nil, fmt.Errorf("%s: panel %q must use ${datasource}", path, p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${datasource}" {
				return d, nil, fmt.Errorf("%s: a target of panel %q must use ${datasource}", path, p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	return d, exprs, nil
}
