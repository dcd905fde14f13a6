// Package config loads adpacer's single YAML configuration file: strict
// decoding (unknown keys are errors with line numbers), defaults in code,
// a Validate that reports every problem at once naming the field and the
// fix, and a Secret type that never prints its value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Line    int    // 0 when unknown
	Path    string // e.g. "connectors.trello[0].key_file"; "" for the whole file
	Message string // what is wrong and how to fix it
}

// String renders "line 12: jobs.pace.schedule: <message>".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is returned by Load and Validate; it lists every problem found.
// The CLI maps it to exit code 78 (EX_CONFIG).
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "(inline)"
	}
	if len(e.Problems) == 1 {
		fmt.Fprintf(&b, "config %s: %s", name, e.Problems[0])
		return b.String()
	}
	fmt.Fprintf(&b, "config %s: %d problems:", name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads and strictly decodes the file at path and fills defaults. It
// does not validate: call Validate next (the CLI's validate command does
// both).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Message: fmt.Sprintf("cannot read the file (%v): check the path given with --config", unwrapPathErr(err))}}}
	}
	return Parse(data, path)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var (
	reLine       = regexp.MustCompile(`^line (\d+): (.*)$`)
	reUnknown    = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reTypeValue  = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
	reTypeNoVal  = regexp.MustCompile(`^cannot unmarshal !!(\w+) into (.+)$`)
	reYAMLSyntax = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// LoadAndValidate is Load followed by Validate, reporting decode and
// validation problems together, sorted by line: an operator fixing a file
// sees every problem in one pass. The returned Config is nil on error.
func LoadAndValidate(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Load(path) // the same read error, as an *Error
	}
	cfg, decodeProblems, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	var all []Problem
	all = append(all, decodeProblems...)
	if verr := cfg.Validate(); verr != nil {
		var ce *Error
		if !errors.As(verr, &ce) {
			return nil, verr
		}
		all = append(all, ce.Problems...)
	}
	if len(all) == 0 {
		return cfg, nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	return nil, &Error{File: path, Problems: all}
}

// Parse decodes a configuration from data; file names it in errors.
func Parse(data []byte, file string) (*Config, error) {
	cfg, problems, err := parse(data, file)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &Error{File: file, Problems: problems}
	}
	return cfg, nil
}

// parse returns a fatal error (syntax, empty file) or a Config with the
// field-level decode problems; yaml.v3 keeps decoding past those, so the
// Config holds every value that did decode.
func parse(data []byte, file string) (*Config, []Problem, error) {
	cfg, err := decode(data, file)
	var ce *Error
	if errors.As(err, &ce) && cfg != nil {
		return cfg, ce.Problems, nil
	}
	return cfg, nil, err
}

func decode(data []byte, file string) (*Config, error) {
	fail := func(ps ...Problem) error { return &Error{File: file, Problems: ps} }

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if m := reYAMLSyntax.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, fail(Problem{Line: line, Message: "YAML syntax error: " + m[2]})
		}
		return nil, fail(Problem{Message: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")})
	}
	if len(root.Content) == 0 {
		return nil, fail(Problem{Message: "the file is empty: start from deploy/config/minimal.yaml"})
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return nil, fail(Problem{Line: root.Content[0].Line, Message: "the top level must be a mapping of keys such as mode, store and connectors"})
	}
	ix := newLineIndex(&root)

	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil {
		// A second document would be silently ignored; refuse it.
		var extra yaml.Node
		if err2 := dec.Decode(&extra); err2 == nil {
			return nil, fail(Problem{Line: extra.Line, Message: "more than one YAML document (---): keep the whole configuration in one document"})
		} else if !errors.Is(err2, io.EOF) {
			err = err2
		}
	}
	if err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fail(Problem{Message: err.Error()})
		}
		ps := make([]Problem, 0, len(te.Errors))
		for _, msg := range te.Errors {
			ps = append(ps, ix.rewrite(msg))
		}
		cfg.fillDefaults()
		cfg.file = file
		cfg.lines = ix.pathLine
		return cfg, fail(ps...)
	}
	cfg.fillDefaults()
	cfg.file = file
	cfg.lines = ix.pathLine
	return cfg, nil
}

// lineIndex maps lines to field paths and back, so decoder messages (which
// know only the line) and validation messages (which know only the path)
// both carry the pair.
type lineIndex struct {
	linePaths map[int][]string
	pathLine  map[string]int
}

func newLineIndex(root *yaml.Node) *lineIndex {
	ix := &lineIndex{linePaths: map[int][]string{}, pathLine: map[string]int{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				ix.add(k.Line, p)
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				ix.add(c.Line, p)
				walk(c, p)
			}
		case yaml.ScalarNode:
			ix.add(n.Line, path)
		}
	}
	walk(root, "")
	return ix
}

func (ix *lineIndex) add(line int, path string) {
	if path == "" {
		return
	}
	if _, ok := ix.pathLine[path]; !ok {
		ix.pathLine[path] = line
	}
	ps := ix.linePaths[line]
	for _, p := range ps {
		if p == path {
			return
		}
	}
	ix.linePaths[line] = append(ps, path)
}

// rewrite turns a yaml.v3 decoder message into a Problem with the field
// path and a fix.
func (ix *lineIndex) rewrite(msg string) Problem {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	path := ""
	if ps := ix.linePaths[line]; len(ps) > 0 {
		path = ps[0]
	}
	if u := reUnknown.FindStringSubmatch(rest); u != nil {
		// The key's own path on this line ends in the unknown key.
		for _, p := range ix.linePaths[line] {
			if strings.HasSuffix(p, "."+u[1]) || p == u[1] {
				path = p
				break
			}
		}
		keys := knownKeys()[u[2]]
		return Problem{Line: line, Path: path, Message: fmt.Sprintf("unknown key %q: remove it or use one of: %s", u[1], strings.Join(keys, ", "))}
	}
	if t := reTypeValue.FindStringSubmatch(rest); t != nil {
		return Problem{Line: line, Path: path, Message: fmt.Sprintf("want %s, got %q", goTypeName(t[3]), t[2])}
	}
	if t := reTypeNoVal.FindStringSubmatch(rest); t != nil {
		return Problem{Line: line, Path: path, Message: fmt.Sprintf("want %s, got a %s", goTypeName(t[2]), yamlTagName(t[1]))}
	}
	return Problem{Line: line, Path: path, Message: rest}
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string", t == "adpacer.CampaignID", t == "adpacer.Platform":
		return "a string"
	}
	return t
}

func yamlTagName(tag string) string {
	switch tag {
	case "map":
		return "mapping"
	case "seq":
		return "list"
	}
	return tag
}

// knownKeys maps each struct type of the schema ("config.HTTP") to its YAML
// keys, for the "unknown key" message.
func knownKeys() map[string][]string {
	out := map[string][]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(Secret{}) {
			return
		}
		if _, done := out[t.String()]; done {
			return
		}
		var keys []string
		out[t.String()] = nil
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if f.Type == reflect.TypeOf(Secret{}) {
				continue // inline secrets are refused; do not suggest them
			}
			keys = append(keys, name)
			visit(f.Type)
		}
		sort.Strings(keys)
		out[t.String()] = keys
	}
	visit(reflect.TypeOf(Config{}))
	return out
}
