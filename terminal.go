package adpacer

import "errors"

// terminalError marks an error that retrying cannot fix (bad credentials,
// revoked token, invalid argument). Retry loops stop on it; the job wrapper
// counts it and raises an alert.
type terminalError struct{ err error }

func (e terminalError) Error() string { return e.err.Error() }
func (e terminalError) Unwrap() error { return e.err }

// Terminal wraps err as terminal. Terminal(nil) is nil.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return terminalError{err}
}

// IsTerminal reports whether err or anything it wraps is terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}
