package hostapi_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// The test binary doubles as every plugin (and host) the subprocess tests
// need: run with helperEnv set, TestMain runs that helper instead of tests.
const (
	helperEnv      = "HOSTAPI_TEST_HELPER"
	closeMarkerEnv = "HOSTAPI_TEST_CLOSE_MARKER" // file a helper store creates when closed
	noPdeathEnv    = "HOSTAPI_TEST_NO_PDEATHSIG" // "1": the host helper relies on stdin alone
)

func init() {
	// Runs after hostapi's init and before main: plugin code writing to
	// stdout this early must not reach the protocol.
	if os.Getenv(helperEnv) == "store-noisy" {
		fmt.Println("noise from init")
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func runHelper(mode string) {
	switch mode {
	case "store":
		hostapi.ServeStore(helperStore())
	case "backend":
		hostapi.ServeBackend(hostapitest.NewBackend(allBackendCaps))
	case "store-reattach":
		hostapi.ServeStoreFunc(helperStore)
	case "store-reattach-shared":
		hostapi.ServeStore(helperStore())
	case "backend-reattach":
		hostapi.ServeBackendFunc(func() hostapi.Backend { return hostapitest.NewBackend(allBackendCaps) })
	case "store-v2":
		hostapi.ServeStore(helperStore(), hostapi.WithVersions(2))
	case "store-v1v2":
		hostapi.ServeStore(helperStore(), hostapi.WithVersions(1, 2))
	case "store-logs":
		hostapi.ServeStore(&loggingStore{Store: helperStore()})
	case "store-noisy":
		go func() {
			for i := range 200 {
				fmt.Printf("noise %d racing with serve\n", i)
			}
		}()
		hostapi.ServeStore(&noisyStore{Store: helperStore()})
	case "garbage-line":
		_, _ = io.WriteString(hostapi.HandshakeOut(), "garbage before the handshake\n")
		_, _ = io.Copy(io.Discard, os.Stdin) // hang until the host lets go
	case "garbage-partial":
		_, _ = io.WriteString(hostapi.HandshakeOut(), "garbage without a newline")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "crash":
		fmt.Fprintln(os.Stderr, "fatal: cannot open the device")
		os.Exit(3)
	case "host":
		runHostHelper()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
		os.Exit(2)
	}
}

// helperStore is the store helpers serve: in memory, creating the file named
// by closeMarkerEnv when closed.
func helperStore() hostapi.Store {
	s := hostapitest.NewStore()
	marker := os.Getenv(closeMarkerEnv)
	if marker == "" {
		return s
	}
	return &markingStore{Store: s, marker: marker}
}

type markingStore struct {
	*hostapitest.Store
	marker string
}

func (s *markingStore) Close(ctx context.Context) error {
	if err := os.WriteFile(s.marker, []byte("closed\n"), 0o600); err != nil {
		return err
	}
	return s.Store.Close(ctx)
}

// loggingStore logs one line per level from Info.
type loggingStore struct{ hostapi.Store }

func (s *loggingStore) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	log := hostapi.PluginLogger()
	log.Debug("plugin debug line", "k", "v")
	log.Info("plugin info line", "k", "v")
	log.Warn("plugin warn line", "k", "v")
	log.Error("plugin error line", "k", "v")
	return s.Store.Info(ctx)
}

// noisyStore writes to os.Stdout from a call, after serving has started.
type noisyStore struct{ hostapi.Store }

func (s *noisyStore) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	fmt.Println("noise from Info")
	fmt.Fprintln(os.Stdout, strings.Repeat("x", 10000))
	return s.Store.Info(ctx)
}

// runHostHelper is a host in the middle: it launches the store helper,
// prints the plugin's pid, and waits to be killed.
func runHostHelper() {
	if os.Getenv(noPdeathEnv) == "1" {
		disableParentDeathSignal()
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hostapi.LaunchStore(ctx, hostapi.LaunchConfig{Path: self, Env: []string{helperEnv + "=store"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(c.Pid())
	_, _ = io.Copy(io.Discard, os.Stdin) // until killed
	c.Kill()
}

var allBackendCaps = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes |
	hostapi.BackendCapPacketFilter | hostapi.BackendCapProxy | hostapi.BackendCapUAPI | hostapi.BackendCapGateway
