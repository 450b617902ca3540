// Package pluginhost supervises plugin processes for the core: it launches a
// plugin, hands its client out while it is healthy, pings it, and when it
// dies or stops answering, relaunches it with exponential backoff and runs
// the caller's Setup again (re-open the store, re-configure the backend and
// re-apply the desired peers) before handing it out.
//
// Health: a plugin is pinged every HealthInterval. One late answer is not
// a death — under CPU contention a healthy plugin answers late — so only
// HealthMisses misses in a row count as a crash, and each ping is given a
// timeout scaled to the plugin's observed answer time and doubled after
// each miss. A plugin that answers nothing is still relaunched within
// seconds (about 11 s with the defaults); one that is frozen and cannot
// even be asked to exit is killed outright.
//
// Backoff: an instance that proved healthy (Setup succeeded and it
// answered a ping) is relaunched the moment its process is reaped — the
// exit is known from the child, not from a missed ping — because one death
// of a working plugin is no loop, and every millisecond waited is an
// outage (the breaker below still bounds a plugin that keeps proving
// healthy and dying). After a relaunch that fails, or an instance that
// dies before proving healthy, the delay doubles from BackoffInitial to
// BackoffMax, and starts over once an instance proves healthy — success
// resets it, not age.
//
// Crash-loop breaker: too many restarts within a window (or a failure no
// immediate retry can fix, ErrPermanent) open the breaker. While it is
// open the plugin is broken: Get fails at once with ErrBroken (an
// UNAVAILABLE error, so callers know to retry) and OnBroken is called.
// After a cooldown the breaker half-opens: one attempt is made; if it
// fails before proving healthy the breaker opens again for twice as long,
// up to a cap of minutes. A broken plugin is so retried for ever at a
// bounded rate, and comes back by itself once its fault is gone.
//
// Hooks: OnFailure is called each time an instance ends or a relaunch
// fails, OnRelaunch each time a relaunched instance serves, OnBroken each
// time the breaker opens — on the supervisor's goroutine, holding no lock
// (the daemon records them in its audit trail).
//
// The supervisor is generic over what a plugin serves (hostapi.Store or
// hostapi.Backend) and over how it is launched (LaunchFunc), so the daemon
// and the CLI launch plugins one way and tests can inject failures.
package pluginhost
