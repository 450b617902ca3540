package hostapi

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// preTruncateStoreDesc is the Store service as a plugin built before
// Truncate existed registers it: every method but Truncate.
func preTruncateStoreDesc() grpc.ServiceDesc {
	desc := pb.Store_ServiceDesc
	desc.Methods = slices.DeleteFunc(slices.Clone(desc.Methods), func(m grpc.MethodDesc) bool { return m.MethodName == "Truncate" })
	return desc
}

// TestStoreClientTruncateOnOlderPlugin calls Truncate on a plugin whose
// Store service has no Truncate method: the host gets ErrUnsupported, as
// the contract promises for a plugin without StoreCapTruncate, while the
// plugin's other methods keep working.
func TestStoreClientTruncateOnOlderPlugin(t *testing.T) {
	desc := preTruncateStoreDesc()
	if len(desc.Methods) != len(pb.Store_ServiceDesc.Methods)-1 {
		t.Fatalf("the service has %d unary methods without Truncate, want %d", len(desc.Methods), len(pb.Store_ServiceDesc.Methods)-1)
	}
	cc := dialWire(t, func(s *grpc.Server) {
		s.RegisterService(&desc, &storeServer{impl: &headStore{head: 7}})
	})
	c := &storeClient{rpc: pb.NewStoreClient(cc)}
	if err := c.Truncate(t.Context(), 3); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Truncate: got %v, want UNSUPPORTED", err)
	}
	if head, err := c.Head(t.Context()); err != nil || head != 7 {
		t.Errorf("Head: got %d, %v; want 7, nil", head, err)
	}
}

// headStore answers Head; its other methods are never called here.
type headStore struct {
	Store
	head uint64
}

func (s *headStore) Head(context.Context) (uint64, error) { return s.head, nil }
