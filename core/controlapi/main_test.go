package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childSocketEnv, when set, makes the test binary a control API client of
// the socket it names instead of running tests: TestPeerCredentials re-runs
// the binary under another uid this way.
const childSocketEnv = "RUSTYNET_CONTROLAPI_TEST_CHILD_SOCKET"

// childResult is what a child client prints.
type childResult struct {
	OK     bool   `json:"ok"`
	Code   string `json:"code"`
	Status int    `json:"status"`
	Err    string `json:"err"`
	UID    int    `json:"uid"`
}

func TestMain(m *testing.M) {
	if path := os.Getenv(childSocketEnv); path != "" {
		os.Exit(runChild(path))
	}
	goleak.VerifyTestMain(m)
}

func runChild(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Dial(path)
	defer c.Close()
	res := childResult{UID: os.Getuid()}
	_, err := c.Status(ctx)
	var e *Error
	switch {
	case err == nil:
		res.OK = true
	case errors.As(err, &e):
		res.Code, res.Status, res.Err = e.Code, e.Status, e.Error()
	default:
		res.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
