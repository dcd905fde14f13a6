package pacing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ExitDataErr is the exit status for a malformed snapshot (sysexits
// EX_DATAERR), part of the `adpacer plan` contract.
const ExitDataErr = 65

// ExitError carries the process exit status a CLI should use for err.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// RunPlanCommand is `adpacer plan`: it reads a snapshot from in, decides,
// and writes the plan as indented JSON to out. A malformed snapshot returns
// an *ExitError with Code 65 whose message starts with the JSON path of the
// first problem.
func RunPlanCommand(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := DecodeSnapshot(in)
	if err != nil {
		var se *SnapshotError
		if errors.As(err, &se) {
			return &ExitError{Code: ExitDataErr, Err: fmt.Errorf("plan: snapshot %w", err)}
		}
		return fmt.Errorf("plan: %w", err)
	}
	plan, err := Decide(s)
	if err != nil {
		return &ExitError{Code: ExitDataErr, Err: fmt.Errorf("plan: snapshot %w", err)}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(plan); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	return nil
}
