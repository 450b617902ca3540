package hostapi

// DisableParentDeathSignal makes later launches from this process rely on
// the stdin pipe alone to stop their plugins when this process dies.
func DisableParentDeathSignal() { parentDeathSignal = 0 }
