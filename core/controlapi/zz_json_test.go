package controlapi

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func bigStatus() Status {
	var st Status
	st.Interface = &InterfaceStatus{Name: "rn0"}
	for i := range 10000 {
		st.Peers = append(st.Peers, PeerStatus{NodeID: fmt.Sprintf("node-%05d", i), PublicKey: "abcdefghijabcdefghijabcdefghijabcdefghij123=", Endpoint: "127.0.0.1:51820", AllowedIPs: []string{fmt.Sprintf("100.64.%d.%d/32", i/256, i%256)}, LastHandshake: time.Now(), RxBytes: 123456, TxBytes: 654321})
		st.Interface.Routes = append(st.Interface.Routes, RouteStatus{Prefix: fmt.Sprintf("100.64.%d.%d/32", i/256, i%256), Via: fmt.Sprintf("node-%05d", i), Kind: "mesh"})
	}
	return st
}

func BenchmarkZZEncode(b *testing.B) {
	st := bigStatus()
	for b.Loop() {
		data, _ := json.Marshal(st)
		b.SetBytes(int64(len(data)))
	}
}

func BenchmarkZZDecode(b *testing.B) {
	data, _ := json.Marshal(bigStatus())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var st Status
		if err := json.Unmarshal(data, &st); err != nil {
			b.Fatal(err)
		}
	}
}
