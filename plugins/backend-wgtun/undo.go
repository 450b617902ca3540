package wgtun

// undoStack collects the steps that reverse a change made part-way, so a
// failing method can put everything back (the contract: an error means
// nothing changed).
type undoStack []func()

// push records how to reverse the step just made.
func (u *undoStack) push(f func()) { *u = append(*u, f) }

// run reverses every recorded step, newest first.
func (u *undoStack) run() {
	for i := len(*u) - 1; i >= 0; i-- {
		(*u)[i]()
	}
	*u = nil
}
