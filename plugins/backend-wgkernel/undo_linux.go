package wgkernel

import "errors"

// undoStack collects the inverse of each step of a change, so that a
// change failing part-way can be taken back, last step first.
type undoStack []func() error

// push records the inverse of a step that has just succeeded.
func (u *undoStack) push(f func() error) { *u = append(*u, f) }

// run takes back every recorded step, newest first, and returns the
// errors of those it could not take back. It runs each step once.
func (u *undoStack) run() error {
	var errs []error
	for i := len(*u) - 1; i >= 0; i-- {
		if err := (*u)[i](); err != nil {
			errs = append(errs, err)
		}
	}
	*u = nil
	return errors.Join(errs...)
}
