package main

import "time"

// clock is where every command gets the time: proposals are created at
// clock() and updates are accepted against it. It is the package's only
// mutable global, replaced by tests (never by the binary) to move time.
var clock = time.Now
