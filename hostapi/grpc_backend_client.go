package hostapi

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// backendClient is the host side of the Backend service: a Backend whose
// methods are gRPC calls to a plugin. Every call carries the caller's ctx.
// A value that cannot be encoded fails with CodeInvalidArgument before
// anything is sent; a reply that cannot be decoded fails the same way.
type backendClient struct {
	rpc pb.BackendClient
	// byCalls: the plugin answered ApplyChange UNIMPLEMENTED (it predates
	// the method); changes go by single calls from then on.
	byCalls atomic.Bool
	// noSummary: the same for StateSummary; summaries are made from
	// State from then on.
	noSummary atomic.Bool
}

var (
	_ Backend         = (*backendClient)(nil)
	_ ChangeApplier   = (*backendClient)(nil)
	_ StateSummarizer = (*backendClient)(nil)
)

func (c *backendClient) Info(ctx context.Context) (BackendInfo, error) {
	resp, err := c.rpc.Info(ctx, &pb.BackendInfoRequest{})
	if err != nil {
		return BackendInfo{}, fromStatus(ctx, BackendPluginName, err)
	}
	return backendInfoFromPB(resp.GetInfo()), nil
}

func (c *backendClient) Probe(ctx context.Context) error {
	_, err := c.rpc.Probe(ctx, &pb.BackendProbeRequest{})
	return fromStatus(ctx, BackendPluginName, err)
}

func (c *backendClient) Configure(ctx context.Context, cfg InterfaceConfig) error {
	m, err := interfaceConfigToPB(cfg)
	if err != nil {
		return err
	}
	_, err = c.rpc.Configure(ctx, &pb.BackendConfigureRequest{Config: m})
	return fromStatus(ctx, BackendPluginName, err)
}

func (c *backendClient) ApplyPeers(ctx context.Context, changes PeerChanges) error {
	m, err := peerChangesToPB(changes)
	if err != nil {
		return err
	}
	_, err = c.rpc.ApplyPeers(ctx, &pb.BackendApplyPeersRequest{Changes: m})
	return fromStatus(ctx, BackendPluginName, err)
}

func (c *backendClient) RemovePeers(ctx context.Context, keys []Key) error {
	_, err := c.rpc.RemovePeers(ctx, &pb.BackendRemovePeersRequest{Keys: keysToBytes(keys)})
	return fromStatus(ctx, BackendPluginName, err)
}

func (c *backendClient) State(ctx context.Context) (InterfaceState, error) {
	resp, err := c.rpc.State(ctx, &pb.BackendStateRequest{PeerColumns: true, RouteColumns: true})
	if err != nil {
		return InterfaceState{}, fromStatus(ctx, BackendPluginName, err)
	}
	s, err := interfaceStateFromPB(resp.GetState())
	if err != nil {
		return InterfaceState{}, invalidReply(BackendPluginName, "State", err)
	}
	return s, nil
}

func (c *backendClient) ApplyRoutes(ctx context.Context, rc RouteChanges) error {
	m, err := routeChangesToPB(rc)
	if err != nil {
		return err
	}
	_, err = c.rpc.ApplyRoutes(ctx, &pb.BackendApplyRoutesRequest{Changes: m})
	return fromStatus(ctx, BackendPluginName, err)
}

func (c *backendClient) SetFilter(ctx context.Context, f Filter) error {
	m, err := filterToPB(f)
	if err != nil {
		return err
	}
	_, err = c.rpc.SetFilter(ctx, &pb.BackendSetFilterRequest{Filter: m})
	return fromStatus(ctx, BackendPluginName, err)
}

// ApplyChange makes ch in one round trip (see the ApplyChange rpc), or
// by single calls on a plugin that predates it.
func (c *backendClient) ApplyChange(ctx context.Context, ch Change) error {
	if ch.empty() {
		return nil
	}
	if c.byCalls.Load() {
		return applyChangeByCalls(ctx, c, ch)
	}
	req := &pb.BackendApplyChangeRequest{}
	var err error
	if req.Peers, err = peerChangesToPB(ch.Peers); err != nil {
		return err
	}
	if req.Routes, err = routeChangesToPB(ch.Routes); err != nil {
		return err
	}
	if ch.Filter != nil {
		if req.Filter, err = filterToPB(*ch.Filter); err != nil {
			return err
		}
	}
	_, err = c.rpc.ApplyChange(ctx, req)
	if unknownMethod(err) {
		c.byCalls.Store(true)
		return applyChangeByCalls(ctx, c, ch)
	}
	return fromStatus(ctx, BackendPluginName, err)
}

// StateSummary asks the plugin to sum its state up (see the StateSummary
// rpc), or sums up its State if the plugin predates that.
func (c *backendClient) StateSummary(ctx context.Context) (InterfaceSummary, error) {
	if !c.noSummary.Load() {
		resp, err := c.rpc.StateSummary(ctx, &pb.BackendStateSummaryRequest{})
		if !unknownMethod(err) {
			if err != nil {
				return InterfaceSummary{}, fromStatus(ctx, BackendPluginName, err)
			}
			s, err := interfaceSummaryFromPB(resp.GetSummary())
			if err != nil {
				return InterfaceSummary{}, invalidReply(BackendPluginName, "StateSummary", err)
			}
			return s, nil
		}
		c.noSummary.Store(true)
	}
	st, err := c.State(ctx)
	if err != nil {
		return InterfaceSummary{}, err
	}
	return SummarizeState(st), nil
}

func (c *backendClient) Close(ctx context.Context) error {
	_, err := c.rpc.Close(ctx, &pb.BackendCloseRequest{})
	return fromStatus(ctx, BackendPluginName, err)
}

// invalidReply reports a reply from a plugin that failed to decode.
func invalidReply(kind, method string, err error) error {
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		msg = e.Msg
	}
	return Errorf(CodeInvalidArgument, "%s plugin sent an invalid %s reply: %s", kind, method, msg)
}
