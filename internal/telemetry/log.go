// Package telemetry is adpacer's observability plumbing: the zap logger,
// the one Prometheus registry every component registers on, build info,
// and the HTTP server for /metrics, /healthz and /readyz on which other
// packages mount their own handlers.
package telemetry

import (
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogOptions configure NewLogger.
type LogOptions struct {
	Level  string    // debug | info | warn | error; "" means info
	Format string    // auto | json | console; "" means auto
	Output io.Writer // nil means os.Stderr
}

// NewLogger builds the process logger: JSON lines for machines (journald,
// Kubernetes) and a coloured console encoder when a person watches a
// terminal. "auto" picks by whether Output is a TTY.
func NewLogger(opts LogOptions) (*zap.Logger, error) {
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	var level zapcore.Level
	lv := opts.Level
	if lv == "" {
		lv = "info"
	}
	if err := level.UnmarshalText([]byte(lv)); err != nil {
		return nil, fmt.Errorf("telemetry: log level %q: use debug, info, warn or error", opts.Level)
	}
	format := opts.Format
	switch format {
	case "", "auto":
		format = "json"
		if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	case "json", "console":
	default:
		return nil, fmt.Errorf("telemetry: log format %q: use auto, json or console", opts.Format)
	}
	var enc zapcore.Encoder
	if format == "json" {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level)
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(out)))), nil
}
