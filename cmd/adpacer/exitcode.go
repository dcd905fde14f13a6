package main

import (
	"errors"

	"github.com/adpacer/adpacer/internal/config"
)

// Exit codes (documented in README.md). They follow sysexits.h where one
// fits, as Vector and other daemons do, so scripts and systemd can tell a
// broken config (do not restart) from a runtime failure (restart).
const (
	ExitOK      = 0  // success
	ExitRuntime = 1  // runtime failure: store, network, shutdown problems
	ExitUsage   = 2  // bad command line: unknown command or flag, wrong arguments
	ExitDataErr = 65 // EX_DATAERR: malformed input data (a snapshot given to `plan`)
	ExitConfig  = 78 // EX_CONFIG: the configuration file is invalid
)

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// dataError marks malformed input data (exit 65). Commands reading a
// snapshot or CSV wrap parse errors with it.
func dataError(err error) error { return &exitError{code: ExitDataErr, err: err} }

// usageError marks a command-line mistake found inside RunE (exit 2).
func usageError(err error) error { return &exitError{code: ExitUsage, err: err} }

// configError marks a configuration problem that is not a *config.Error
// (exit 78).
func configError(err error) error { return &exitError{code: ExitConfig, err: err} }

// ranError marks an error returned by a command's RunE, as opposed to one
// cobra produced while parsing the command line.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// exitCode maps an error from Execute to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return ExitConfig
	}
	var re *ranError
	if errors.As(err, &re) {
		return ExitRuntime
	}
	return ExitUsage // cobra: unknown command, bad flag, wrong number of args
}
