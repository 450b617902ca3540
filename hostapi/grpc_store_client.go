package hostapi

import (
	"context"
	"errors"
	"io"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// storeClient is the host side of the Store service: a Store whose methods
// are gRPC calls to a plugin. Every call carries the caller's ctx.
type storeClient struct {
	rpc pb.StoreClient
}

var _ Store = (*storeClient)(nil)

func (c *storeClient) Info(ctx context.Context) (StoreInfo, error) {
	resp, err := c.rpc.Info(ctx, &pb.StoreInfoRequest{})
	if err != nil {
		return StoreInfo{}, fromStatus(ctx, StorePluginName, err)
	}
	return storeInfoFromPB(resp.GetInfo()), nil
}

func (c *storeClient) Open(ctx context.Context, cfg StoreConfig) error {
	_, err := c.rpc.Open(ctx, &pb.StoreOpenRequest{Config: &pb.StoreConfig{Dir: cfg.Dir}})
	return fromStatus(ctx, StorePluginName, err)
}

func (c *storeClient) Append(ctx context.Context, e LogEntry) error {
	_, err := c.rpc.Append(ctx, &pb.StoreAppendRequest{Entry: logEntryToPB(e)})
	return fromStatus(ctx, StorePluginName, err)
}

// Truncate calls the plugin's Truncate; a plugin built before the RPC
// existed answers gRPC UNIMPLEMENTED, which fromStatus makes ErrUnsupported.
func (c *storeClient) Truncate(ctx context.Context, after uint64) error {
	_, err := c.rpc.Truncate(ctx, &pb.StoreTruncateRequest{After: after})
	return fromStatus(ctx, StorePluginName, err)
}

func (c *storeClient) Head(ctx context.Context) (uint64, error) {
	resp, err := c.rpc.Head(ctx, &pb.StoreHeadRequest{})
	if err != nil {
		return 0, fromStatus(ctx, StorePluginName, err)
	}
	return resp.GetIndex(), nil
}

func (c *storeClient) ReadLog(ctx context.Context, from uint64, limit int) ([]LogEntry, error) {
	stream, err := c.rpc.ReadLog(ctx, &pb.StoreReadLogRequest{From: from, Limit: int64(limit)})
	if err != nil {
		return nil, fromStatus(ctx, StorePluginName, err)
	}
	entries := []LogEntry{}
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fromStatus(ctx, StorePluginName, err)
		}
		for _, m := range chunk.GetEntries() {
			entries = append(entries, logEntryFromPB(m))
		}
	}
}

func (c *storeClient) PutSnapshot(ctx context.Context, s Snapshot) error {
	_, err := c.rpc.PutSnapshot(ctx, &pb.StorePutSnapshotRequest{Snapshot: snapshotToPB(s)})
	return fromStatus(ctx, StorePluginName, err)
}

func (c *storeClient) GetSnapshot(ctx context.Context) (Snapshot, error) {
	resp, err := c.rpc.GetSnapshot(ctx, &pb.StoreGetSnapshotRequest{})
	if err != nil {
		return Snapshot{}, fromStatus(ctx, StorePluginName, err)
	}
	return snapshotFromPB(resp.GetSnapshot()), nil
}

func (c *storeClient) Close(ctx context.Context) error {
	_, err := c.rpc.Close(ctx, &pb.StoreCloseRequest{})
	return fromStatus(ctx, StorePluginName, err)
}
