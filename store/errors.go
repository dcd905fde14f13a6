package store

import "errors"

// Typed errors of the store contract. Callers decide with errors.Is, never by
// matching text.
var (
	// ErrNotFound: the requested row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key is already taken (a second claim of the same
	// action key, a stale leader epoch, a concurrent update that lost).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: the data violates a rule of the store (negative cost,
	// unknown campaign, currency mismatch); the error text names the field.
	ErrInvalid = errors.New("store: invalid data")
)

// FieldError is an ErrInvalid naming the offending field, for example
// "stats[3].cost", so the caller can say which record to fix.
type FieldError struct {
	Field  string
	Reason string
}

// Invalid returns a *FieldError for field.
func Invalid(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

func (e *FieldError) Error() string { return "store: invalid " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }
