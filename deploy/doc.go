// Package deploy holds adpacer's deployment artefacts — the systemd unit,
// Kubernetes manifests (kustomize base and overlays), Grafana dashboard,
// Prometheus alert rules and packaging — and the offline tests that keep
// them valid. It has no code the daemon imports.
package deploy
