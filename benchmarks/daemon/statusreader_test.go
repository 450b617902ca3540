package daemonbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rustynet/rustynet/core/controlapi"
)

// statusReaderEnv, when set to "MODE SOCKET", makes this test binary a
// status reader instead of running tests: see readStatusUntilEOF.
const statusReaderEnv = "RUSTYNET_BENCH_STATUS_READER"

// Reader modes: decode the status (controlapi.Client.Status), or take it
// as its JSON document, undecoded (WriteStatusDocument, as `status --json`).
const (
	readDecoded  = "decode"
	readDocument = "document"
)

// readStatusUntilEOF is the whole of a status reader process: it reads
// the status of the daemon at socket back to back, as mode says, until
// its stdin closes. A reader is a process of its own, as the clients of
// a daemon are: in the benchmark's process its decoding would hold up the
// benchmark's own goroutines (Go schedules them on its 2 threads), and
// charge the applies for it.
func readStatusUntilEOF(mode, socket string) error {
	var done atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		done.Store(true)
	}()
	c := controlapi.Dial(socket)
	defer c.Close()
	for !done.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		var err error
		if mode == readDecoded {
			_, err = c.Status(ctx)
		} else {
			err = c.WriteStatusDocument(ctx, io.Discard, controlapi.PeersAll, "")
		}
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func statusReaderMain(v string) int {
	mode, socket, _ := strings.Cut(v, " ")
	if mode != readDecoded && mode != readDocument {
		fmt.Fprintf(os.Stderr, "status reader: %s=%q: want %q or %q, a space, a socket\n", statusReaderEnv, v, readDecoded, readDocument)
		return 2
	}
	if err := readStatusUntilEOF(mode, socket); err != nil {
		fmt.Fprintln(os.Stderr, "status reader:", err)
		return 1
	}
	return 0
}

// startStatusReaders starts n reader processes of the daemon at socket;
// the returned function stops them and fails b if one failed.
func startStatusReaders(b *testing.B, n int, mode, socket string) (stop func()) {
	b.Helper()
	type reader struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
	}
	readers := make([]reader, n)
	for i := range readers {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), statusReaderEnv+"="+mode+" "+socket)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		readers[i] = reader{cmd, stdin}
	}
	return func() {
		for _, r := range readers {
			r.stdin.Close()
		}
		for _, r := range readers {
			if err := r.cmd.Wait(); err != nil {
				b.Errorf("status reader: %v", err)
			}
		}
	}
}
