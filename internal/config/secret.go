package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"
)

// Redacted is what every rendering of a Secret prints.
const Redacted = "[REDACTED]"

// Secret holds a credential read from a file or an environment variable.
// Every way Go, zap, JSON, YAML and text encoders have of printing a value
// prints Redacted instead, so a Secret can sit in a logged or printed struct
// without leaking. The only way to the value is Reveal, which callers use at
// the moment they put it on the wire.
type Secret struct {
	// value is unexported so reflection-based printers (fmt's %+v on a
	// containing struct goes through Format, but encoders that walk fields)
	// cannot reach it.
	value string
}

// NewSecret wraps a value, for tests and for code that obtains a credential
// at run time (an OAuth access token, say).
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value. Call it only where the value leaves the
// process towards the system it authenticates to.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value was loaded; YAML omitempty uses it.
func (s Secret) IsZero() bool { return s.value == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return `config.Secret("` + Redacted + `")` }

// Format implements fmt.Formatter so that every verb, including %x, %q and
// %d, prints the mask and never the bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", Redacted)
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, Redacted)
	default:
		fmt.Fprint(f, Redacted)
	}
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return Redacted, nil }

// MarshalLogObject implements zapcore.ObjectMarshaler (zap.Any and
// zap.Object pick it before reflection).
func (s Secret) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("secret", Redacted)
	return nil
}

// UnmarshalYAML refuses inline secrets: a credential written into the
// config file ends up in backups, diffs and ConfigMaps. The error tells the
// operator to use the *_file or *_env key instead.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf(
		"line %d: inline secret values are not allowed: put the value in a file and set the matching *_file key (or name an environment variable in *_env)", n.Line)}}
}

// SecretSource says where a secret lives: a file or an environment
// variable name. A relative file path is resolved against
// $CREDENTIALS_DIRECTORY when that is set (systemd LoadCredential=), and
// otherwise against Dir, the directory of the configuration file (as
// Prometheus resolves paths in its config), so a config and its credentials
// can travel together (a Kubernetes Secret volume beside a ConfigMap).
type SecretSource struct {
	File string
	Env  string
	Dir  string
}

// IsSet reports whether either location is given.
func (s SecretSource) IsSet() bool { return s.File != "" || s.Env != "" }

// Path returns the file path after resolving a relative path against
// $CREDENTIALS_DIRECTORY (when set).
func (s SecretSource) Path() string {
	if s.File == "" || filepath.IsAbs(s.File) {
		return s.File
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		return filepath.Join(dir, s.File)
	}
	if s.Dir != "" {
		return filepath.Join(s.Dir, s.File)
	}
	return s.File
}

// errSecretEmpty marks a secret that exists but holds nothing.
var errSecretEmpty = errors.New("is empty")

// Load reads the secret. Surrounding whitespace and the trailing newline
// that editors and `echo` add are trimmed. Errors name the file or variable,
// never the content.
func (s SecretSource) Load() (Secret, error) {
	switch {
	case s.File != "" && s.Env != "":
		return Secret{}, errors.New("both a file and an environment variable are set: keep one")
	case s.File != "":
		p := s.Path()
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return Secret{}, fmt.Errorf("file %s does not exist: create it or fix the path (relative paths are resolved against $CREDENTIALS_DIRECTORY when set, else against the config file's directory)", p)
			}
			var pe *os.PathError
			if errors.As(err, &pe) {
				return Secret{}, fmt.Errorf("file %s cannot be read (%v): fix its permissions", p, pe.Err)
			}
			return Secret{}, fmt.Errorf("file %s cannot be read: fix its permissions", p)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return Secret{}, fmt.Errorf("file %s %w: write the credential into it", p, errSecretEmpty)
		}
		return Secret{value: v}, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set: export it or use the *_file key", s.Env)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return Secret{}, fmt.Errorf("environment variable %s %w: set it to the credential", s.Env, errSecretEmpty)
		}
		return Secret{value: v}, nil
	}
	return Secret{}, errors.New("not set")
}
