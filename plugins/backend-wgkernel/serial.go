package wgkernel

import (
	"context"
	"slices"
	"sync"
)

// serializer lets one operation at a time touch the device, and lets
// urgent operations (peer removals) overtake the normal ones waiting: the
// contract gives RemovePeers priority over queued work. Among equals the
// order is first come, first served.
type serializer struct {
	mu     sync.Mutex
	busy   bool            // an operation holds the device
	urgent []chan struct{} // waiting urgent operations, oldest first
	normal []chan struct{} // waiting normal operations, oldest first
}

// acquire waits for the device, or for ctx to end (then it returns ctx's
// error and holds nothing). Every nil return is paired with release.
func (s *serializer) acquire(ctx context.Context, urgent bool) error {
	s.mu.Lock()
	if !s.busy {
		s.busy = true
		s.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	if urgent {
		s.urgent = append(s.urgent, turn)
	} else {
		s.normal = append(s.normal, turn)
	}
	s.mu.Unlock()

	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		queued := s.dequeue(turn)
		s.mu.Unlock()
		if !queued {
			// release handed us the device as ctx ended: pass it on.
			s.release()
		}
		return ctx.Err()
	}
}

// release hands the device to the oldest urgent waiter, else the oldest
// normal one, else frees it.
func (s *serializer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next chan struct{}
	switch {
	case len(s.urgent) > 0:
		next, s.urgent = s.urgent[0], s.urgent[1:]
	case len(s.normal) > 0:
		next, s.normal = s.normal[0], s.normal[1:]
	default:
		s.busy = false
		return
	}
	close(next) // the device stays busy: it now belongs to next's owner
}

// dequeue removes turn from the wait queues and reports whether it was
// there. The caller holds mu.
func (s *serializer) dequeue(turn chan struct{}) bool {
	if i := slices.Index(s.urgent, turn); i >= 0 {
		s.urgent = slices.Delete(s.urgent, i, i+1)
		return true
	}
	if i := slices.Index(s.normal, turn); i >= 0 {
		s.normal = slices.Delete(s.normal, i, i+1)
		return true
	}
	return false
}
