package hostapi

// Regenerating internal/pb from proto/ needs protoc (Debian:
// `apt-get install -y protobuf-compiler`) and, on PATH, the Go generators:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@latest
//
// Run `go generate` in this directory only; the output is committed.

//go:generate protoc --proto_path=proto --go_out=. --go_opt=module=github.com/rustynet/rustynet/hostapi --go-grpc_out=. --go-grpc_opt=module=github.com/rustynet/rustynet/hostapi rustynet/plugin/v1/store.proto rustynet/plugin/v1/backend.proto
