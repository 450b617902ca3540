// Package pluginhost supervises plugin processes for the core: it launches a
// plugin, hands its client out while it is healthy, pings it, and when it
// dies or stops answering, relaunches it with exponential backoff and runs
// the caller's Setup again (re-open the store, re-configure the backend and
// re-apply the desired peers) before handing it out. A plugin that keeps
// dying trips a crash-loop breaker: the supervisor stops relaunching it and
// reports why, instead of spinning.
//
// The supervisor is generic over what a plugin serves (hostapi.Store or
// hostapi.Backend) and over how it is launched (LaunchFunc), so the daemon
// and the CLI launch plugins one way and tests can inject failures.
package pluginhost
