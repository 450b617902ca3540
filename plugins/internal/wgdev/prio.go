package wgdev

import "sync"

// prioLock is a mutual-exclusion lock whose urgent waiters go before the
// ordinary ones, so a removal never queues behind applies that have not
// started yet. The zero value is unlocked.
type prioLock struct {
	mu     sync.Mutex
	cond   sync.Cond // cond.L is &mu, set on first use
	held   bool      // guarded by mu
	urgent int       // urgent waiters; guarded by mu
}

// lock acquires l; urgent callers overtake every waiting ordinary caller.
func (l *prioLock) lock(urgent bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cond.L == nil {
		l.cond.L = &l.mu
	}
	if urgent {
		l.urgent++
		for l.held {
			l.cond.Wait()
		}
		l.urgent--
	} else {
		for l.held || l.urgent > 0 {
			l.cond.Wait()
		}
	}
	l.held = true
}

// unlock releases l, which must be held.
func (l *prioLock) unlock() {
	l.mu.Lock()
	l.held = false
	l.mu.Unlock()
	l.cond.Broadcast()
}
