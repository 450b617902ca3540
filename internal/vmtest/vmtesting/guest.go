package vmtesting

import "os"

// guestEnv is set (to "1") in the environment of tests run by RunTest.
const guestEnv = "RUSTYNET_VMTEST_GUEST"

// InGuest reports whether this process is a test binary that RunTest
// started inside a guest. It is false on every system but Linux, where
// RunTest runs.
func InGuest() bool { return os.Getenv(guestEnv) == "1" }
