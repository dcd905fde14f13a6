package sim

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is a scenario problem located by its field path, for example
// "campaigns[12].daily_budget".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// decodeStrict decodes a YAML node into v, rejecting unknown and duplicate
// keys and naming the field path of every error. yaml.v3's KnownFields
// reports only a line number and the Go type name; scenario authors need the
// path ("lines[3].budget") to find and fix the mistake.
func decodeStrict(n *yaml.Node, v reflect.Value, path string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return fieldErr(path, "empty document")
		}
		return decodeStrict(n.Content[0], v, path)
	case yaml.AliasNode:
		return decodeStrict(n.Alias, v, path)
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			v.Set(reflect.Zero(t))
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decodeStrict(n, v.Elem(), path)
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return decodeLeaf(n, v, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fieldErr(path, "want a mapping (key: value lines), got %s", kindName(n))
		}
		fields := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = i
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := join(path, key)
			idx, ok := fields[key]
			if !ok {
				return fieldErr(p, "unknown field (known fields: %s)", strings.Join(sortedKeys(fields), ", "))
			}
			if seen[key] {
				return fieldErr(p, "field given twice")
			}
			seen[key] = true
			if err := decodeStrict(n.Content[i+1], v.Field(idx), p); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return fieldErr(path, "want a list, got %s", kindName(n))
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := decodeStrict(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fieldErr(path, "want a mapping, got %s", kindName(n))
		}
		if t.Key().Kind() != reflect.String {
			return fieldErr(path, "internal: map key must be a string")
		}
		m := reflect.MakeMap(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := join(path, key)
			kv := reflect.New(t.Key()).Elem()
			kv.SetString(key)
			if m.MapIndex(kv).IsValid() {
				return fieldErr(p, "key given twice")
			}
			ev := reflect.New(t.Elem()).Elem()
			if err := decodeStrict(n.Content[i+1], ev, p); err != nil {
				return err
			}
			m.SetMapIndex(kv, ev)
		}
		v.Set(m)
		return nil
	}
	return decodeLeaf(n, v, path)
}

func decodeLeaf(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return fieldErr(path, "want a single value, got %s", kindName(n))
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			return fieldErr(path, "%v", err)
		}
		return nil
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		msg := err.Error()
		if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		return fieldErr(path, "%s", msg)
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
