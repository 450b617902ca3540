package hostapi

import (
	"context"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// backendServer is the plugin side of the Backend service: it serves a
// plugin author's Backend, passing each call's ctx through. A request that
// cannot be decoded fails with CodeInvalidArgument without reaching the
// implementation.
type backendServer struct {
	pb.UnimplementedBackendServer
	impl Backend
}

func (s *backendServer) Info(ctx context.Context, _ *pb.BackendInfoRequest) (*pb.BackendInfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendInfoResponse{Info: backendInfoToPB(info)}, nil
}

func (s *backendServer) Probe(ctx context.Context, _ *pb.BackendProbeRequest) (*pb.BackendProbeResponse, error) {
	if err := s.impl.Probe(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendProbeResponse{}, nil
}

func (s *backendServer) Configure(ctx context.Context, req *pb.BackendConfigureRequest) (*pb.BackendConfigureResponse, error) {
	cfg, err := interfaceConfigFromPB(req.GetConfig())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.Configure(ctx, cfg); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendConfigureResponse{}, nil
}

func (s *backendServer) ApplyPeers(ctx context.Context, req *pb.BackendApplyPeersRequest) (*pb.BackendApplyPeersResponse, error) {
	changes, err := peerChangesFromPB(req.GetChanges())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.ApplyPeers(ctx, changes); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendApplyPeersResponse{}, nil
}

func (s *backendServer) RemovePeers(ctx context.Context, req *pb.BackendRemovePeersRequest) (*pb.BackendRemovePeersResponse, error) {
	keys, err := keysFromBytes(req.GetKeys(), "keys")
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.RemovePeers(ctx, keys); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendRemovePeersResponse{}, nil
}

func (s *backendServer) State(ctx context.Context, req *pb.BackendStateRequest) (*pb.BackendStateResponse, error) {
	st, err := s.impl.State(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	m, err := interfaceStateToPB(st, stateForm{peerColumns: req.GetPeerColumns(), routeColumns: req.GetRouteColumns()})
	if r, ok := s.impl.(StateRecycler); ok && req.GetPeerColumns() {
		r.RecycleState(st) // the columns are copies; the per-peer messages would share keys
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendStateResponse{State: m}, nil
}

func (s *backendServer) ApplyRoutes(ctx context.Context, req *pb.BackendApplyRoutesRequest) (*pb.BackendApplyRoutesResponse, error) {
	c, err := routeChangesFromPB(req.GetChanges())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.ApplyRoutes(ctx, c); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendApplyRoutesResponse{}, nil
}

func (s *backendServer) SetFilter(ctx context.Context, req *pb.BackendSetFilterRequest) (*pb.BackendSetFilterResponse, error) {
	f, err := filterFromPB(req.GetFilter())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.SetFilter(ctx, f); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendSetFilterResponse{}, nil
}

func (s *backendServer) ApplyChange(ctx context.Context, req *pb.BackendApplyChangeRequest) (*pb.BackendApplyChangeResponse, error) {
	var c Change
	var err error
	if c.Peers, err = peerChangesFromPB(req.GetPeers()); err != nil {
		return nil, toStatus(err)
	}
	if c.Routes, err = routeChangesFromPB(req.GetRoutes()); err != nil {
		return nil, toStatus(err)
	}
	if req.Filter != nil {
		f, err := filterFromPB(req.GetFilter())
		if err != nil {
			return nil, toStatus(err)
		}
		c.Filter = &f
	}
	if err := ApplyChange(ctx, s.impl, c); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendApplyChangeResponse{}, nil
}

func (s *backendServer) StateSummary(ctx context.Context, _ *pb.BackendStateSummaryRequest) (*pb.BackendStateSummaryResponse, error) {
	sum, err := StateSummary(ctx, s.impl)
	if err != nil {
		return nil, toStatus(err)
	}
	m, err := interfaceSummaryToPB(sum)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendStateSummaryResponse{Summary: m}, nil
}

func (s *backendServer) Close(ctx context.Context, _ *pb.BackendCloseRequest) (*pb.BackendCloseResponse, error) {
	if err := s.impl.Close(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BackendCloseResponse{}, nil
}
