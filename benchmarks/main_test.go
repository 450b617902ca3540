package benchmarks

import (
	"os"
	"testing"

	"github.com/rustynet/rustynet/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
