package membership

// Commit makes the post-state of res current, for callers that must persist
// an update between verifying it (Evaluate) and making it current. res must
// come from c.Evaluate on the current state and have succeeded; anything
// else is refused, so a stale or failed verification can never be committed.
func (c *Chain) Commit(res *Result) error {
	if res == nil || res.Post == nil || res.Update == nil {
		return errorf(IllegalOperation, "commit of a verification that did not succeed")
	}
	if res.Pre != c.state {
		return errorf(StaleEpoch, "commit of a verification made against another state (epoch %d, now %d)", res.Pre.Epoch(), c.state.Epoch())
	}
	// The package-level Evaluate does not check update ids, and a Result
	// is a plain struct: re-check what binds it to this chain.
	b := &res.Update.Body
	if e, dup := c.seen[b.UpdateID]; dup {
		return errorf(ReplayedUpdate, "update %x was already applied at epoch %d", b.UpdateID, e)
	}
	if b.PrevStateRoot != c.state.root || b.NewStateRoot != res.Post.root || res.Post.epoch != c.state.epoch+1 {
		return errorf(IllegalOperation, "commit of a result whose update does not lead from the current state to its post-state")
	}
	c.state = res.Post
	c.seen[res.Update.Body.UpdateID] = res.Update.Body.Epoch
	return nil
}
