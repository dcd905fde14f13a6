package pacing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// SnapshotError is a problem with a snapshot, located by the JSON path of the
// first offending value, for example "$.campaigns[3].daily_budget".
type SnapshotError struct {
	Path string
	Msg  string
}

func (e *SnapshotError) Error() string { return e.Path + ": " + e.Msg }

func snapErr(path, format string, args ...any) *SnapshotError {
	return &SnapshotError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// DecodeSnapshot reads a version 1 snapshot strictly: unknown fields,
// duplicate top-level keys, trailing data and invalid values are errors of
// type *SnapshotError naming the JSON path of the first problem. An omitted
// policy stays nil (Decide uses DefaultPolicy); a partial policy is filled
// from DefaultPolicy, so a snapshot only states what it overrides.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) {
	// The whole document is kept so that a failing element can be re-read to
	// find the exact field; elements are decoded one by one from it, so the
	// decoder itself never buffers more than one element.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	s, err := decodeSnapshotBytes(data)
	if err != nil {
		return nil, err
	}
	if err := Validate(s); err != nil {
		return nil, err
	}
	return s, nil
}

func decodeSnapshotBytes(data []byte) (*Snapshot, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil {
		return nil, snapErr("$", "not a JSON document: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, snapErr("$", "want a JSON object, got %v", tok)
	}
	s := &Snapshot{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, snapErr("$", "malformed JSON: %v", err)
		}
		key, _ := tok.(string)
		path := "$." + key
		if seen[key] {
			return nil, snapErr(path, "appears twice; give each field once")
		}
		seen[key] = true
		start := dec.InputOffset()
		switch key {
		case "version":
			err = dec.Decode(&s.Version)
		case "now":
			err = dec.Decode(&s.Now)
		case "policy":
			p := DefaultPolicy()
			if err = dec.Decode(&p); err == nil {
				s.Policy = &p
			} else {
				return nil, locate(data, start, path, err, func() any { p := DefaultPolicy(); return &p })
			}
		case "lines":
			s.Lines, err = decodeArray[Line](dec, data, path)
		case "campaigns":
			s.Campaigns, err = decodeArray[Campaign](dec, data, path)
		case "stats":
			s.Stats, err = decodeArray[Stat](dec, data, path)
		default:
			return nil, snapErr(path, "unknown field (allowed: version, now, policy, lines, campaigns, stats)")
		}
		if err != nil {
			var se *SnapshotError
			if errors.As(err, &se) {
				return nil, se
			}
			return nil, snapErr(path, "%s", cleanJSONErr(err))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, snapErr("$", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, snapErr("$", "unexpected data after the snapshot object")
	}
	for _, k := range []string{"version", "now", "lines", "campaigns"} {
		if !seen[k] {
			return nil, snapErr("$."+k, "is required")
		}
	}
	return s, nil
}

// decodeArray decodes a JSON array element by element. On a failing element
// it re-reads that element from data to name the failing field.
func decodeArray[T any](dec *json.Decoder, data []byte, path string) ([]T, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, snapErr(path, "malformed JSON: %v", err)
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, snapErr(path, "want an array, got %v", tok)
	}
	var out []T
	for i := 0; dec.More(); i++ {
		start := dec.InputOffset()
		var v T
		if err := dec.Decode(&v); err != nil {
			return nil, locate(data, start, fmt.Sprintf("%s[%d]", path, i), err, func() any { return new(T) })
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, snapErr(path, "malformed JSON: %v", err)
	}
	return out, nil
}

// locate turns a decoding error of the value starting at data[start:] into a
// SnapshotError naming the field: it re-decodes the object one key at a time
// into a fresh value from newV and reports the first key that fails.
func locate(data []byte, start int64, path string, cause error, newV func() any) *SnapshotError {
	var se *json.SyntaxError
	if errors.As(cause, &se) {
		return snapErr(path, "malformed JSON: %v", se)
	}
	// InputOffset may point at the separator before the value.
	rest := data[start:]
	rest = bytes.TrimLeft(rest, " \t\r\n,:")
	dec := json.NewDecoder(bytes.NewReader(rest))
	tok, err := dec.Token()
	if err != nil {
		return snapErr(path, "%s", cleanJSONErr(cause))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return snapErr(path, "want an object: %s", cleanJSONErr(cause))
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return snapErr(path+"."+key, "malformed JSON: %v", err)
		}
		one, _ := json.Marshal(map[string]json.RawMessage{key: raw})
		d := json.NewDecoder(bytes.NewReader(one))
		d.DisallowUnknownFields()
		if err := d.Decode(newV()); err != nil {
			if name, ok := unknownField(err); ok {
				if name == key {
					return snapErr(path+"."+key, "unknown field; see docs/plan-format.md for the allowed fields")
				}
				return snapErr(path+"."+key+"."+name, "unknown field; see docs/plan-format.md for the allowed fields")
			}
			return snapErr(path+"."+key, "%s", cleanJSONErr(err))
		}
	}
	return snapErr(path, "%s", cleanJSONErr(cause))
}

func unknownField(err error) (string, bool) {
	const p = `json: unknown field "`
	msg := err.Error()
	if !strings.HasPrefix(msg, p) {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(msg, p), `"`), true
}

// cleanJSONErr rewrites encoding/json messages into something an account
// manager can act on.
func cleanJSONErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, got a JSON %s", friendlyType(te.Type.String()), te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("want an RFC 3339 time such as 2026-11-15T09:00:00Z: %v", pe)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func friendlyType(t string) string {
	switch t {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "string", "adpacer.CampaignID", "adpacer.Platform", "adpacer.CampaignState":
		return "a string"
	case "bool":
		return "true or false"
	case "time.Time":
		return "an RFC 3339 time string"
	}
	if strings.HasPrefix(t, "[]") {
		return "an array"
	}
	return t
}
