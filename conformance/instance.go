package conformance

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

// instance is what StoreClient and BackendClient share: the handle on one
// running plugin.
type instance interface {
	Pid() int
	Done() <-chan struct{}
	Exited() bool
	Kill()
	Ping(ctx context.Context) error
	ProtocolVersion() int
}

// startPlugin starts a fresh instance of the target, whatever its kind.
func startPlugin(ctx context.Context, env *Env) (instance, error) {
	if env.Kind == KindStore {
		return env.StartStore(ctx)
	}
	return env.StartBackend(ctx, nil)
}

// exercise calls every method of inst once, as a host would in a short
// life: a store is opened on a fresh directory, written, read and closed;
// a backend is probed and, if it can work here, configured, given a peer,
// read back and closed.
func exercise(ctx context.Context, env *Env, inst instance) error {
	switch p := inst.(type) {
	case *StoreInstance:
		return exerciseStore(ctx, env, p)
	case *BackendInstance:
		return exerciseBackend(ctx, p)
	}
	return fmt.Errorf("conformance: cannot exercise %T", inst)
}

func exerciseStore(ctx context.Context, env *Env, s *StoreInstance) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	if _, err := s.Info(ctx); err != nil {
		return fmt.Errorf("Info: %w", err)
	}
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	if err := appendRange(ctx, s, 1, 3, small); err != nil {
		return err
	}
	if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := errs(wantHead(ctx, s, 3), checkLog(ctx, s, 1, 3, small), wantSnapshot(ctx, s, hostapi.Snapshot{Index: 3, Data: []byte("snapshot")})); err != nil {
		return err
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	return nil
}

func exerciseBackend(ctx context.Context, b *BackendInstance) error {
	if _, err := b.Info(ctx); err != nil {
		return fmt.Errorf("Info: %w", err)
	}
	configured, err := configureIfSafe(ctx, b)
	if err != nil || !configured {
		return err
	}
	peer := newIdentity(meshAddr(2))
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer.peer(netip.AddrPort{})}}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	if _, err := b.State(ctx); err != nil {
		return fmt.Errorf("State: %w", err)
	}
	if err := b.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	return nil
}

// touchesHost reports whether configuring b would change the network of
// the node it runs in (an OS interface, addresses, routes).
func touchesHost(b *BackendInstance) bool {
	p := b.info.Privileges
	return p.Root || p.TUN || p.KernelModule
}

// configureIfSafe configures b with a fresh identity if b can work here
// (Probe) and configuring it changes nothing outside its node's own network
// stack. It reports whether it configured b.
func configureIfSafe(ctx context.Context, b *BackendInstance) (bool, error) {
	if touchesHost(b) && !b.Node.Isolated {
		return false, nil
	}
	if err := b.Probe(ctx); err != nil {
		return false, nil
	}
	if err := b.Configure(ctx, newIdentity(meshAddr(1)).config()); err != nil {
		return false, fmt.Errorf("Configure: %w", err)
	}
	return true, nil
}
