package telemetry

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// BuildInfo describes the running binary.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"goversion"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
}

// ReadBuildInfo combines the version stamped with
// -ldflags "-X main.version=..." (preferred; pass "" when not stamped) with
// what the Go toolchain embedded: the module version for `go install`ed
// binaries and the VCS revision when built with -buildvcs.
func ReadBuildInfo(ldflagsVersion string) BuildInfo {
	bi := BuildInfo{
		Version:   ldflagsVersion,
		Revision:  "unknown",
		GoVersion: runtime.Version(),
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if bi.Version == "" && info.Main.Version != "" {
			bi.Version = info.Main.Version
		}
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && bi.Revision != "unknown" {
			bi.Revision += "-dirty"
		}
	}
	if bi.Version == "" {
		bi.Version = "(devel)"
	}
	return bi
}

// NewRegistry returns the one registry the daemon passes to every
// component, pre-loaded with the Go runtime and process collectors and
// adpacer_build_info. No component touches prometheus.DefaultRegisterer.
func NewRegistry(bi BuildInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "adpacer_build_info",
		Help:        "A metric with a constant '1' value labeled by version, revision and goversion from which adpacer was built.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	info.Set(1)
	reg.MustRegister(info)
	return reg
}
