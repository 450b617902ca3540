// Package daemon is the node agent: it holds the trusted membership
// (core/ledger over a supervised store plugin), drives a supervised backend
// plugin, and keeps the data plane equal to what trusted membership allows.
//
// The enforcement gate: the only inputs that change the data plane are the
// ledger's verified state (after Apply, Extend or Bootstrap succeeded) and
// local configuration; a rejected, expired or replayed update changes
// nothing; in restricted-safe mode the node has no peers at all. A revoke or
// remove is pushed to the backend as a removal before anything else the
// update implies.
//
// Health: the node reports itself degraded (controlapi.HealthStatus) while
// it is in restricted-safe mode, a plugin is restarting or broken (its
// crash-loop breaker open: pluginhost retries it for ever, ever more
// slowly), or its feed has stalled. A broken plugin's calls fail
// UNAVAILABLE at once, which the control API passes on as retryable. With
// Options.ExitOnBrokenPlugin, Failed tells the caller to stop the node
// instead, so that a service manager restarts it. The feed is fetched on
// its own goroutine, outside every lock, within the source's own bounds
// (core/feed); however long a fetch takes, nothing else waits for it.
//
// Audit trail: every update accepted or refused (through the control API
// or the feed, with its code, reason and source), the trusted head and any
// change of trust state at each start and stop (restricted-safe mode, a
// recovery, a head changed while stopped), and every plugin crash,
// relaunch and breaker opening are recorded in the node's audit log
// (core/audit; AuditOptions, beside the state directory by default). A
// record is queued without blocking, so the daemon records under d.mu and
// from the supervisors' hooks; the log's writer takes none of the daemon's
// locks, and a full or failing audit log never holds up an apply (it is
// counted, reported in the health status, and recorded once writes
// succeed again). An update sent through the control API is answered once
// its record is written too — after d.mu is released, and waiting at most
// 100 ms — so that the record is durable when the sender hears the
// verdict. A node whose audit log cannot be opened runs without one,
// degraded. Dry runs are not recorded: they change nothing.
//
// Locking, in order — a goroutine holding one lock may take only locks
// below it:
//
//  1. d.mu serialises every data-plane change (apply path, full
//     reconcile, feed extension) and is held across backend calls,
//     including while a call waits for a relaunched backend plugin.
//  2. d.configMu serialises the backend's Configure calls whose
//     configuration was computed under d.mu, in the order computed (an
//     older one is never sent after a newer one): fullReconcile takes it
//     holding d.mu; the names loop computes its configuration under d.mu,
//     lets d.mu go and then takes d.configMu alone, so that sending the
//     mesh's names table never holds up an apply. Nothing under it takes
//     d.mu or the ledger's lock.
//  3. The ledger's lock (ledger.Ledger.mu) is held across store-plugin
//     I/O, including waiting for a relaunched store plugin. Nothing
//     holding it calls the backend. An apply (ledger.Ledger.ApplyWith)
//     readies its change (its delta and filter, Daemon.prepare) on a
//     second goroutine while the ledger writes the entry: that goroutine
//     runs within the apply's hold of d.mu and the ledger's lock, reads
//     the daemon's fields, takes only the policy compiler's own lock and
//     calls neither the ledger nor a plugin. It pushes the change
//     (Daemon.pushPrepared, in the Committed hook) once the entry is
//     durable, while the ledger's lock is held by the high-water mark's
//     writer alone, which writes a local file and waits for nothing of
//     the daemon's or a plugin's: a ledger call the push makes (filterOf)
//     waits for that write, and a relaunched backend's Setup, which takes
//     the ledger's lock, waits for it too, never for the push. Extend
//     returns before the daemon pushes the change.
//  4. d.feedMu guards the feed's status only; nothing is called under it
//     (read the ledger's status before taking it). The feed is fetched
//     outside every lock, so a source that holds a fetch holds nothing
//     else.
//
// The backend supervisor's Setup — which runs when a backend plugin is
// relaunched — never takes d.mu, because an apply holding d.mu may be
// waiting for that very relaunch; it takes the ledger's lock only briefly
// (to read the trusted state), reconfigures the fresh plugin from it on its
// own (without d.configMu, which a Configure waiting for that relaunch may
// hold) and asks the repair loop for a full reconcile. The store
// supervisor's Setup takes neither, and neither does either supervisor's
// OnBroken (it only offers the reason to Failed's channel).
// TestBackendDiesDuringAnApplysPush holds the daemon to this order.
//
// Options.Observer (the metrics' recorder) is called with d.mu held
// (UpdateApplied, UpdateRejected) or holding no lock (FeedFetched); it
// takes no lock of the daemon's and returns at once. Status reads the plugins' versions with
// Info calls, bounded, holding no lock.
package daemon
