package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/gossip"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// SyncOptions configure the exchange of heads with peers (core/gossip).
type SyncOptions struct {
	// Port is the TCP port of the node's service on its mesh addresses;
	// 0 turns the exchange off.
	Port uint16
	// Interval between rounds; 0 means 5 s.
	Interval time.Duration
	// Fanout is how many peers a round asks; 0 means 3.
	Fanout int
}

// meshSync is the daemon's side of core/gossip: its service and its
// rounds, on the mesh (see the package doc of gossip for the transport).
type meshSync struct {
	d       *Daemon
	port    uint16
	server  *gossip.Server
	syncer  *gossip.Syncer
	relay   bool   // the backend relays (hostapi.MeshService); else the OS interface carries it
	dir     string // the private directory of the relay's sockets
	service *hostapi.MeshService

	mu        sync.Mutex
	listeners map[netip.Addr]net.Listener // OS mode: one per mesh address
	wg        sync.WaitGroup
}

// prepareSync creates the relay's private directory and starts listening
// on its accept socket, before any backend is configured (the backend's
// configuration names both sockets). A backend with an OS interface
// ignores them; startSync then closes them.
func (d *Daemon) prepareSync() error {
	o := d.opts.Sync
	if o.Port == 0 {
		return nil
	}
	dir, err := syncSocketDir(d.opts.StateDir)
	if err != nil {
		return fmt.Errorf("daemon: sync sockets: %w", err)
	}
	s := &meshSync{d: d, port: o.Port, dir: dir, listeners: map[netip.Addr]net.Listener{},
		service: &hostapi.MeshService{Port: o.Port, Accept: filepath.Join(dir, "accept.sock"), Dial: filepath.Join(dir, "dial.sock")}}
	ln, err := net.Listen("unix", s.service.Accept)
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("daemon: sync socket: %w", err)
	}
	s.server = gossip.NewServer(syncSource{d}, d.log)
	s.relay = true
	s.serve(ln)
	d.sync = s
	return nil
}

// syncSocketDir makes the private directory of the relay's sockets:
// <state_dir>.sync (0700), emptied of what a crashed run left — the store's
// lock on the state directory keeps two daemons from sharing it — or, if
// that path is too long for a Unix socket, a new temporary directory.
func syncSocketDir(stateDir string) (string, error) {
	if stateDir == "" || len(filepath.Clean(stateDir))+len(".sync/accept.sock") > 100 {
		return os.MkdirTemp("", "rustynet-sync-")
	}
	dir := filepath.Clean(stateDir) + ".sync"
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// startSync starts the rounds, on the transport the chosen backend has.
func (d *Daemon) startSync(ctx context.Context) {
	s := d.sync
	if s == nil {
		return
	}
	var dial gossip.Dialer
	if d.caps().Has(hostapi.BackendCapProxy) {
		dial = s.dialRelay
	} else {
		s.closeRelay()
		s.relay = false
		dial = s.dialDirect
		s.listenMesh()
	}
	s.syncer = gossip.NewSyncer(syncLocal{syncSource{d}}, gossip.NewClient(dial, d.opts.Limits), d.log)
	s.syncer.Fanout = d.opts.Sync.Fanout
	interval := d.opts.Sync.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.syncer.Run(ctx, interval)
	}()
}

// serve serves the gossip service on ln until close.
func (s *meshSync) serve(ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.server.Serve(ln); err != nil {
			s.d.log.Debug("gossip: a listener stopped", "err", err)
		}
	}()
}

// closeRelay closes the relay's socket and directory (OS mode needs
// neither).
func (s *meshSync) closeRelay() {
	s.server.Close()
	s.wg.Wait()
	s.server = gossip.NewServer(syncSource{s.d}, s.d.log)
	os.RemoveAll(s.dir)
	s.dir = ""
}

// listenMesh (OS mode) listens on each of the node's mesh addresses that
// it does not listen on yet and stops listening on those it no longer has.
// Called after every full reconcile; a failure is retried then.
func (s *meshSync) listenMesh() {
	if s == nil || s.relay {
		return
	}
	var want []netip.Addr
	if st := s.d.ledger.State(); st != nil && s.d.ledger.Restricted() == nil {
		if self, ok := st.Node(s.d.opts.NodeID); ok && self.Status == membership.StatusActive {
			for _, p := range self.Addresses {
				want = append(want, p.Addr())
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, ln := range s.listeners {
		if !slices.Contains(want, a) {
			ln.Close()
			delete(s.listeners, a)
		}
	}
	for _, a := range want {
		if _, ok := s.listeners[a]; ok {
			continue
		}
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, s.port).String())
		if err != nil {
			s.d.log.Warn("gossip: cannot listen on a mesh address yet; retrying at the next reconcile", "addr", a, "err", err)
			continue
		}
		s.listeners[a] = ln
		s.serve(membersOnly{ln, s.d})
	}
}

// membersOnly accepts only connections from an active member's mesh
// address (of the effective state: the floor while forked). An OS host
// delivers a packet for one of its addresses whichever interface it came
// in on, so the packet filter on the mesh interface alone does not keep a
// neighbour on another link from the service.
type membersOnly struct {
	net.Listener
	d *Daemon
}

func (l membersOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && l.d.isMemberAddr(ap.Addr().Unmap()) {
			return c, nil
		}
		c.Close()
	}
}

// isMemberAddr reports whether a is a mesh address of an active member
// other than this node.
func (d *Daemon) isMemberAddr(a netip.Addr) bool {
	st := d.effectiveState()
	if st == nil || d.ledger.Restricted() != nil {
		return false
	}
	for n := range st.Nodes() {
		if n.ID == d.opts.NodeID || n.Status != membership.StatusActive {
			continue
		}
		for _, p := range n.Addresses {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// dialRelay reaches a peer through the backend's dial socket.
func (s *meshSync) dialRelay(ctx context.Context, addr netip.Addr) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.service.Dial)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte(addr.String() + "\n")); err != nil {
		c.Close()
		return nil, err
	}
	line := make([]byte, 0, 128)
	b := make([]byte, 1)
	for len(line) < 128 {
		if _, err := c.Read(b); err != nil {
			c.Close()
			return nil, fmt.Errorf("the backend's mesh dial: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	if string(line) != "ok" {
		c.Close()
		return nil, fmt.Errorf("the backend cannot reach %s: %s", addr, line)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// dialDirect reaches a peer over the OS interface.
func (s *meshSync) dialDirect(ctx context.Context, addr netip.Addr) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, s.port).String())
}

// close stops the service and the rounds (the caller cancelled their
// context) and removes the relay's sockets.
func (s *meshSync) close() {
	if s == nil {
		return
	}
	s.server.Close()
	s.mu.Lock()
	for a, ln := range s.listeners {
		ln.Close()
		delete(s.listeners, a)
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// status is the sync part of the node's status.
func (s *meshSync) status() *controlapi.SyncStatus {
	if s == nil {
		return nil
	}
	out := &controlapi.SyncStatus{Port: s.port, Transport: "interface"}
	if s.relay {
		out.Transport = "backend relay"
	}
	if s.syncer == nil {
		return out
	}
	st := s.syncer.Status()
	out.Rounds, out.LastRound, out.Behind, out.Applied, out.Failures, out.LastError = st.Rounds, st.LastRound, st.Behind, st.Applied, st.Failures, st.LastError
	if n := st.Newest; n != nil {
		out.Newest = &controlapi.HeardHead{Peer: n.Peer, Epoch: n.Head.Epoch, StateRoot: n.Head.StateRoot, At: n.At}
	}
	return out
}

// syncSource is what the node serves its peers.
type syncSource struct{ d *Daemon }

func (s syncSource) Head() (gossip.Head, bool) {
	l := s.d.ledger
	if l.Restricted() != nil {
		return gossip.Head{}, false
	}
	st := l.State()
	if st == nil {
		return gossip.Head{}, false
	}
	var evidence []string
	if f := l.Fork(); f != nil {
		evidence = f.Names()
	}
	return gossip.HeadOf(st, evidence), true
}

func (s syncSource) Entries(from uint64, max int) []*membership.SignedUpdate {
	if s.d.ledger.Restricted() != nil {
		return nil
	}
	return s.d.ledger.Entries(from, max)
}

func (s syncSource) Evidence(name string) []byte {
	if f := s.d.ledger.Fork(); f != nil {
		if it, ok := f.Item(name); ok {
			return it.Encoded
		}
	}
	return nil
}

// syncLocal is the node's side of a round.
type syncLocal struct{ syncSource }

func (s syncLocal) Peers() []gossip.Peer {
	st := s.d.effectiveState()
	if st == nil || s.d.ledger.Restricted() != nil {
		return nil
	}
	var out []gossip.Peer
	for n := range st.Nodes() {
		if n.ID == s.d.opts.NodeID || n.Status != membership.StatusActive || len(n.Addresses) == 0 {
			continue
		}
		out = append(out, gossip.Peer{ID: n.ID, Addr: n.Addresses[0].Addr()})
	}
	return out
}

func (s syncLocal) RootAt(e uint64) (membership.Hash, bool) { return s.d.ledger.RootAt(e) }

func (s syncLocal) Extend(ctx context.Context, entries []*membership.SignedUpdate, from string) (int, error) {
	d := s.d
	d.mu.Lock()
	head := d.ledger.Status().Head
	// Another peer may have handed over some of these in the meantime (the
	// peers of a round are asked at once): skip what the log holds already,
	// byte for byte; a different entry is for the ledger to judge.
	for len(entries) > 0 {
		e := entries[0].Body.Epoch
		if e == 0 || e > head || !d.ledger.Holds(entries[0]) {
			break
		}
		entries = entries[1:]
	}
	if len(entries) == 0 {
		d.mu.Unlock()
		return 0, nil
	}
	if entries[0].Body.Epoch != head+1 {
		d.mu.Unlock()
		return 0, fmt.Errorf("entries from %s start at epoch %d, not right after this node's head %d", from, entries[0].Body.Epoch, head)
	}
	// The entries after the head only: the ledger keeps just its newest
	// entries in memory, so the whole log would be read back from the store.
	n, err := d.extendAtLocked(ctx, head, entries)
	d.mu.Unlock()
	d.auditExtend(audit.SourcePeer, entries, 0, n, err)
	if err != nil {
		return n, fmt.Errorf("entries from %s: %w", from, err)
	}
	return n, nil
}

func (s syncLocal) BeginCatchUp() (gossip.CatchUp, error) {
	x, err := s.d.ledger.BeginExtension()
	if err != nil {
		return nil, err
	}
	return catchUp{s.d, x}, nil
}

// catchUp is a catch-up from a peer over a ledger.Extension.
type catchUp struct {
	d *Daemon
	x *ledger.Extension
}

func (c catchUp) Add(from uint64, entries []*membership.SignedUpdate) error {
	err := c.x.Add(from, entries)
	var ra *ledger.ResolutionAvailable
	if errors.As(err, &ra) {
		// The peer follows a resolution of the fork this node holds: take
		// it; the next round catches up from it.
		if _, rerr := c.d.takeResolution(context.Background(), ra.Update, audit.SourcePeer); rerr != nil {
			return rerr
		}
		return errResolved
	}
	return err
}

// errResolved ends a catch-up that took a fork resolution instead: the log
// changed under it, and the next round starts afresh.
var errResolved = errors.New("took the peer's fork resolution; catching up from it next round")

// Commit commits what verified and reconciles, as pollFeed does.
func (c catchUp) Commit(ctx context.Context, from string) (int, error) {
	d := c.d
	d.mu.Lock()
	applied, err := c.x.Commit(ctx)
	d.afterExtendLocked(ctx, len(applied), err)
	d.mu.Unlock()
	d.auditExtend(audit.SourcePeer, applied, 0, len(applied), err)
	if err != nil {
		return len(applied), fmt.Errorf("entries from %s: %w", from, err)
	}
	return len(applied), nil
}

func (s syncLocal) Conflict(ctx context.Context, u *membership.SignedUpdate, from string) error {
	d := s.d
	if ok, err := d.takeResolution(ctx, u, audit.SourcePeer); ok {
		return err // resolved (nil), or the resolution's refusal
	}
	if d.ledger.Settled(u) {
		return nil // the peer is on a side this node's resolution settles: it will follow
	}
	err := d.ledger.CheckFork(u)
	if err == nil {
		return fmt.Errorf("its entry of epoch %d differs from this node's and does not prove a fork", u.Body.Epoch)
	}
	d.mu.Lock()
	d.rejectLocked(err)
	d.noteRefusal(ctx, err)
	d.mu.Unlock()
	return err
}

func (s syncLocal) AddEvidence(ctx context.Context, data []byte, from string) error {
	d := s.d
	ev, err := membership.ParseEvidence(data, d.opts.Limits)
	if err != nil {
		return err
	}
	// Evidence of a fork past this node's head carries the log up to it:
	// catch up on that first (it is verified as any entries are).
	if have := d.ledger.Status().Head; uint64(len(ev.Log)) > have {
		if _, err := s.Extend(ctx, ev.Log[have:], from); err != nil {
			return err
		}
	}
	if err := d.ledger.AddEvidence(ev); err != nil {
		return err
	}
	d.mu.Lock()
	d.noteFork(ctx)
	d.mu.Unlock()
	return nil
}

// extendAtLocked extends the ledger with entries, those after epoch base,
// the ledger's head (ledger.ExtendAt), and reconciles if anything was
// applied; a refusal is remembered for status, and one that made the node
// forked shrinks the data plane. d.mu must be held.
func (d *Daemon) extendAtLocked(ctx context.Context, base uint64, entries []*membership.SignedUpdate) (int, error) {
	n, err := d.ledger.ExtendAt(ctx, base, entries)
	d.afterExtendLocked(ctx, n, err)
	return n, err
}

// afterExtendLocked is what follows every extension of the ledger (a
// log, a feed's pull, a peer's catch-up): a full reconcile if anything was
// applied, and a refusal remembered for status — one that made the node
// forked shrinks the data plane. d.mu must be held.
func (d *Daemon) afterExtendLocked(ctx context.Context, applied int, err error) {
	if applied > 0 {
		if rerr := d.fullReconcile(ctx); rerr != nil {
			d.log.Error("reconcile after new updates failed; will retry", "err", rerr)
			d.requestRepair()
		}
	}
	if err != nil {
		d.rejectLocked(err)
		d.noteRefusal(ctx, err)
	}
}
