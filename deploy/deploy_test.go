package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/adpacer/adpacer/internal/config"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// render runs `kubectl kustomize` (offline: it only renders).
func render(t *testing.T, overlay string) [][]byte {
	t.Helper()
	kubectl := requireTool(t, "kubectl", "kubectl renders the kustomize overlays offline: apt-get install kubectl")
	out, err := exec.Command(kubectl, "kustomize", filepath.Join("kubernetes", "overlays", overlay)).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", overlay, err, out)
	}
	var docs [][]byte
	for _, d := range bytes.Split(out, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

type rendered struct {
	statefulSets []appsv1.StatefulSet
	deployments  []appsv1.Deployment
	pdbs         []policyv1.PodDisruptionBudget
	configMaps   []corev1.ConfigMap
	services     []corev1.Service
	monitors     []monitoringv1.ServiceMonitor
	rules        []monitoringv1.PrometheusRule
}

// decode strict-decodes every rendered document into its typed struct:
// unknown fields and wrong types fail, as the API server would refuse them.
func decode(t *testing.T, docs [][]byte) rendered {
	t.Helper()
	var r rendered
	for _, d := range docs {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatalf("document without kind: %v\n%s", err, d)
		}
		var target any
		switch meta.APIVersion + "/" + meta.Kind {
		case "apps/v1/StatefulSet":
			r.statefulSets = append(r.statefulSets, appsv1.StatefulSet{})
			target = &r.statefulSets[len(r.statefulSets)-1]
		case "apps/v1/Deployment":
			r.deployments = append(r.deployments, appsv1.Deployment{})
			target = &r.deployments[len(r.deployments)-1]
		case "policy/v1/PodDisruptionBudget":
			r.pdbs = append(r.pdbs, policyv1.PodDisruptionBudget{})
			target = &r.pdbs[len(r.pdbs)-1]
		case "v1/ConfigMap":
			r.configMaps = append(r.configMaps, corev1.ConfigMap{})
			target = &r.configMaps[len(r.configMaps)-1]
		case "v1/Service":
			r.services = append(r.services, corev1.Service{})
			target = &r.services[len(r.services)-1]
		case "v1/ServiceAccount":
			target = &corev1.ServiceAccount{}
		case "monitoring.coreos.com/v1/ServiceMonitor":
			r.monitors = append(r.monitors, monitoringv1.ServiceMonitor{})
			target = &r.monitors[len(r.monitors)-1]
		case "monitoring.coreos.com/v1/PrometheusRule":
			r.rules = append(r.rules, monitoringv1.PrometheusRule{})
			target = &r.rules[len(r.rules)-1]
		default:
			t.Fatalf("unexpected kind %s %s", meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(d, target); err != nil {
			t.Fatalf("%s does not strict-decode: %v", meta.Kind, err)
		}
	}
	return r
}

func checkPod(t *testing.T, name string, tpl corev1.PodTemplateSpec, configFile string) {
	t.Helper()
	spec := tpl.Spec
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod security context must set runAsNonRoot and seccomp RuntimeDefault", name)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	cs := c.SecurityContext
	if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: container must be restricted: no privilege escalation, read-only root, drop ALL", name)
	}
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
	wantPath := map[string]string{"startup": "/readyz", "liveness": "/healthz", "readiness": "/readyz"}
	for kind, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != wantPath[kind] {
			t.Errorf("%s: %s probe must GET %s", name, kind, wantPath[kind])
		}
	}
	if c.StartupProbe != nil && c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds < 120 {
		t.Errorf("%s: startup probe allows only %ds for migrations", name, c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: cpu/memory requests and a memory limit are required", name)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("%s: secret %s passed as env var; mount secrets as files", name, e.Name)
		}
	}
	secretVol := ""
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secretVol = v.Name
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == secretVol && m.ReadOnly && m.SubPath == "" {
			mounted = true // no subPath: rotated secrets update in place
		}
	}
	if !mounted {
		t.Errorf("%s: tokens must come from a read-only Secret volume mounted without subPath", name)
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds <= 30 {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed the daemon's drain time", name)
	}
	raw, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got, want := tpl.Annotations["adpacer.io/config-checksum"], "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("%s: config checksum annotation %q, want %q (update it with the config)", name, got, want)
	}
}

func TestSQLiteSingleOverlay(t *testing.T) {
	r := decode(t, render(t, "sqlite-single"))
	if len(r.statefulSets) != 1 || len(r.deployments) != 0 {
		t.Fatalf("want exactly one StatefulSet and no Deployment, got %d and %d", len(r.statefulSets), len(r.deployments))
	}
	ss := r.statefulSets[0]
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Error("SQLite mode needs exactly one replica")
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatal("want one volume claim template for the database")
	}
	for _, m := range ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes {
		if m == corev1.ReadWriteMany {
			t.Error("SQLite WAL must not sit on a shared (RWX) filesystem")
		}
	}
	if len(r.pdbs) != 0 {
		t.Error("a PDB on a single replica blocks node drains")
	}
	checkPod(t, "sqlite-single", ss.Spec.Template, "kubernetes/overlays/sqlite-single/config.yaml")
	checkCommon(t, r)
}

func TestPostgresHAOverlay(t *testing.T) {
	r := decode(t, render(t, "postgres-ha"))
	if len(r.deployments) != 1 || len(r.statefulSets) != 0 {
		t.Fatalf("want exactly one Deployment, got %d", len(r.deployments))
	}
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Error("HA mode needs at least two replicas")
	}
	if len(r.pdbs) != 1 {
		t.Fatalf("want one PDB, got %d", len(r.pdbs))
	}
	pdb := r.pdbs[0]
	if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 {
		t.Error("the PDB must allow one pod down (maxUnavailable >= 1) so it never blocks drains")
	}
	checkPod(t, "postgres-ha", d.Spec.Template, "kubernetes/overlays/postgres-ha/config.yaml")
	checkCommon(t, r)
}

func checkCommon(t *testing.T, r rendered) {
	t.Helper()
	if len(r.monitors) != 1 || len(r.monitors[0].Spec.Endpoints) != 1 || r.monitors[0].Spec.Endpoints[0].Path != "/metrics" {
		t.Error("want one ServiceMonitor scraping /metrics")
	}
	if len(r.rules) != 1 {
		t.Error("want one PrometheusRule")
	}
	dash := false
	for _, cm := range r.configMaps {
		if cm.Labels["grafana_dashboard"] == "1" {
			dash = true
		}
	}
	if !dash {
		t.Error("want the Grafana dashboard ConfigMap with the sidecar label")
	}
}

// The operator's PrometheusRule and the plain rules file must say the same.
func TestPrometheusRuleMatchesRules(t *testing.T) {
	var plain struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	raw, err := os.ReadFile("prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &plain); err != nil {
		t.Fatalf("rules.yml: %v", err)
	}
	var pr monitoringv1.PrometheusRule
	raw, err = os.ReadFile("kubernetes/base/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if !reflect.DeepEqual(plain.Groups, pr.Spec.Groups) {
		t.Fatal("kubernetes/base/prometheusrule.yaml differs from prometheus/rules.yml: regenerate it")
	}
	want := []string{"AdpacerDown", "AdpacerSourceStale", "AdpacerPacingHeldTooLong", "AdpacerOutboxStuck", "AdpacerTokenExpiring"}
	have := map[string]bool{}
	for _, g := range plain.Groups {
		for _, r := range g.Rules {
			have[r.Alert] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("missing alert rule %s", w)
		}
	}
}

func TestPromtoolRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "from Debian's package prometheus")
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"test", "rules", "rules_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestDashboardShapeAndCopy(t *testing.T) {
	if _, exprs, err := LoadDashboard("grafana/adpacer-overview.json"); err != nil || len(exprs) == 0 {
		t.Fatalf("dashboard: %v (%d expressions)", err, len(exprs))
	}
	a, _ := os.ReadFile("grafana/adpacer-overview.json")
	b, _ := os.ReadFile("kubernetes/base/grafana-dashboard.json")
	if !bytes.Equal(a, b) {
		t.Fatal("kubernetes/base/grafana-dashboard.json differs from grafana/adpacer-overview.json: copy it")
	}
}

func TestSystemdUnit(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "Debian package systemd")
	unit, err := os.ReadFile("systemd/adpacer.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "DynamicUser=yes", "StateDirectory=adpacer", "LoadCredential=", "NoNewPrivileges=yes"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
	// verify needs ExecStart to point at an executable; use a stand-in.
	dir := t.TempDir()
	bin := filepath.Join(dir, "adpacer")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "adpacer.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/bin/adpacer"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Overall exposure level")) {
		t.Errorf("unexpected systemd-analyze output:\n%s", out)
	}
}

// The packaged config is the example with bare secret names, and every
// secret it names is a credential the unit loads.
func TestSystemdConfigMatchesExample(t *testing.T) {
	ex, err := os.ReadFile("config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sysd, err := os.ReadFile("systemd/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(ex), "credentials/", "")
	if !strings.HasSuffix(string(sysd), want) {
		t.Fatal("deploy/systemd/config.yaml is not deploy/config/example.yaml with bare secret names: regenerate it")
	}
	// Under systemd the secrets arrive in $CREDENTIALS_DIRECTORY; the
	// example's placeholders stand in for them.
	creds, _ := filepath.Abs("config/credentials")
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if _, err := config.LoadAndValidate("systemd/config.yaml"); err != nil {
		t.Fatalf("packaged config does not validate with the unit's credentials: %v", err)
	}
	unit, err := os.ReadFile("systemd/adpacer.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`_file: ([a-z0-9-]+)`).FindAllStringSubmatch(string(sysd), -1) {
		if !strings.Contains(string(unit), "LoadCredential="+m[1]+":") {
			t.Errorf("config names secret %s but the unit does not load it", m[1])
		}
	}
}
