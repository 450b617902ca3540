package hostapi

import "github.com/rustynet/rustynet/hostapi/internal/pb"

// Store values carry only integers, strings and bytes, so their conversions
// cannot fail; absent messages decode as zero values.

func storeInfoToPB(i StoreInfo) *pb.StoreInfo {
	return &pb.StoreInfo{Name: i.Name, Version: i.Version, Capabilities: uint64(i.Capabilities)}
}

func storeInfoFromPB(m *pb.StoreInfo) StoreInfo {
	return StoreInfo{
		Name:         m.GetName(),
		Version:      m.GetVersion(),
		Capabilities: StoreCapabilities(m.GetCapabilities()),
	}
}

func logEntryToPB(e LogEntry) *pb.LogEntry {
	return &pb.LogEntry{Index: e.Index, Data: e.Data}
}

func logEntryFromPB(m *pb.LogEntry) LogEntry {
	return LogEntry{Index: m.GetIndex(), Data: m.GetData()}
}

func snapshotToPB(s Snapshot) *pb.Snapshot {
	return &pb.Snapshot{Index: s.Index, Data: s.Data}
}

func snapshotFromPB(m *pb.Snapshot) Snapshot {
	return Snapshot{Index: m.GetIndex(), Data: m.GetData()}
}
