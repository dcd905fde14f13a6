package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"
)

const canary = "tok-CANARY-7f3a9"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(canary)
	type holder struct {
		Name  string
		Token Secret
		Ptr   *Secret
	}
	h := holder{Name: "x", Token: s, Ptr: &s}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(h), s.String(), s.GoString())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(y))
	txt, _ := s.MarshalText()
	outs = append(outs, string(txt))

	var buf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.DebugLevel))
	log.Info("secret", zap.Any("any", s), zap.Stringer("stringer", s), zap.Object("object", s),
		zap.Any("holder", h), zap.Reflect("reflect", h))
	log.Sugar().Infow("sugar", "s", s, "h", h)
	_ = log.Sync()
	outs = append(outs, buf.String())

	for _, o := range outs {
		if strings.Contains(o, canary) {
			t.Errorf("secret leaked: %s", o)
		}
		if strings.Contains(o, "CANARY") || strings.Contains(o, fmt.Sprintf("%x", canary)) {
			t.Errorf("secret leaked in encoded form: %s", o)
		}
	}
	if !strings.Contains(buf.String(), Redacted) {
		t.Errorf("zap output lacks %s: %s", Redacted, buf.String())
	}
	if s.Reveal() != canary {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestValidationErrorsNeverCarrySecretValues(t *testing.T) {
	// The secret file holds the canary; a broken neighbour key makes the
	// validation fail. Neither the error nor a printed config shows it.
	p := writeConfig(t, "connectors:\n  everhour:\n    - id: e\n      api_key_file: canary\n      reread_days: 0\n      thresholds_pct: [100, 80]\n")
	if err := writeFile(p, "canary", canary+"\n"); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	verr := cfg.Validate()
	if verr == nil {
		t.Fatal("Validate() = nil, want problems")
	}
	if strings.Contains(verr.Error(), canary) {
		t.Errorf("validation error leaks the secret: %v", verr)
	}
	if cfg.Connectors.Everhour[0].APIKey.Reveal() != canary {
		t.Fatalf("secret not loaded")
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), canary) || !strings.Contains(string(out), "api_key: '[REDACTED]'") {
		t.Errorf("marshalled config leaks or lacks the mask:\n%s", out)
	}
}
