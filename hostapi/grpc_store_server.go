package hostapi

import (
	"context"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// readLogChunkBytes is the entry data one ReadLog stream message carries at
// most, unless a single entry is larger (it then travels alone).
const readLogChunkBytes = 4 << 20

// storeServer is the plugin side of the Store service: it serves a plugin
// author's Store, passing each call's ctx through.
type storeServer struct {
	pb.UnimplementedStoreServer
	impl Store
}

func (s *storeServer) Info(ctx context.Context, _ *pb.StoreInfoRequest) (*pb.StoreInfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreInfoResponse{Info: storeInfoToPB(info)}, nil
}

func (s *storeServer) Open(ctx context.Context, req *pb.StoreOpenRequest) (*pb.StoreOpenResponse, error) {
	if err := s.impl.Open(ctx, StoreConfig{Dir: req.GetConfig().GetDir()}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreOpenResponse{}, nil
}

func (s *storeServer) Append(ctx context.Context, req *pb.StoreAppendRequest) (*pb.StoreAppendResponse, error) {
	if err := s.impl.Append(ctx, logEntryFromPB(req.GetEntry())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreAppendResponse{}, nil
}

func (s *storeServer) Truncate(ctx context.Context, req *pb.StoreTruncateRequest) (*pb.StoreTruncateResponse, error) {
	if err := s.impl.Truncate(ctx, req.GetAfter()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreTruncateResponse{}, nil
}

func (s *storeServer) Head(ctx context.Context, _ *pb.StoreHeadRequest) (*pb.StoreHeadResponse, error) {
	head, err := s.impl.Head(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreHeadResponse{Index: head}, nil
}

func (s *storeServer) ReadLog(req *pb.StoreReadLogRequest, stream pb.Store_ReadLogServer) error {
	limit, err := intFromInt64(req.GetLimit(), "limit")
	if err != nil {
		return toStatus(err)
	}
	entries, err := s.impl.ReadLog(stream.Context(), req.GetFrom(), limit)
	if err != nil {
		return toStatus(err)
	}
	chunk, size := &pb.StoreReadLogResponse{}, 0
	for _, e := range entries {
		if len(chunk.Entries) > 0 && size+len(e.Data) > readLogChunkBytes {
			if err := stream.Send(chunk); err != nil {
				return err
			}
			chunk, size = &pb.StoreReadLogResponse{}, 0
		}
		chunk.Entries = append(chunk.Entries, logEntryToPB(e))
		size += len(e.Data)
	}
	if len(chunk.Entries) > 0 {
		return stream.Send(chunk)
	}
	return nil
}

func (s *storeServer) PutSnapshot(ctx context.Context, req *pb.StorePutSnapshotRequest) (*pb.StorePutSnapshotResponse, error) {
	if err := s.impl.PutSnapshot(ctx, snapshotFromPB(req.GetSnapshot())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StorePutSnapshotResponse{}, nil
}

func (s *storeServer) GetSnapshot(ctx context.Context, _ *pb.StoreGetSnapshotRequest) (*pb.StoreGetSnapshotResponse, error) {
	snap, err := s.impl.GetSnapshot(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreGetSnapshotResponse{Snapshot: snapshotToPB(snap)}, nil
}

func (s *storeServer) Close(ctx context.Context, _ *pb.StoreCloseRequest) (*pb.StoreCloseResponse, error) {
	if err := s.impl.Close(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreCloseResponse{}, nil
}
