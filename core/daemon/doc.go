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
// Locking: d.mu serialises every data-plane change (apply path, full
// reconcile). The backend supervisor's Setup — which runs when a backend
// plugin is relaunched — never takes d.mu, because an apply holding d.mu may
// be waiting for that very relaunch; it reconfigures the fresh plugin from
// the ledger on its own and asks for a full reconcile.
package daemon
