// Package metrics exports a node's state as Prometheus metrics and its
// health at /healthz, over an opt-in HTTP listener ([metrics] listen in the
// configuration).
//
// Gauges and the counters the daemon's status already keeps (plugin
// restarts, peers' bytes, feed stalls) are read from the daemon's Status at
// each scrape; the events status does not keep (updates applied and their
// latency, rejections by code, feed fetch outcomes) are counted by the
// Recorder, which the daemon calls as its Observer. Every name is
// prefixed rustynet_, in base units (seconds, bytes), counters end in
// _total:
//
//	rustynet_build_info{version,revision,go_version}       1
//	rustynet_membership_epoch                              trusted epoch
//	rustynet_membership_last_update_timestamp_seconds      created_at of the newest trusted update
//	rustynet_membership_last_update_age_seconds            seconds since then
//	rustynet_membership_restricted                         1 in restricted-safe mode
//	rustynet_membership_forked                             1 while holding evidence of a fork
//	rustynet_membership_stale                              1 while older than max_update_age
//	rustynet_health_degraded                               1 while status says degraded
//	rustynet_health_check_level                            0 healthy, 1 degraded, 2 restricted or forked (status --check)
//	rustynet_update_apply_duration_seconds                 histogram: receipt → durable → data plane changed
//	rustynet_update_rejections_total{code}                 refused updates by membership error code
//	rustynet_plugin_up{kind,plugin}                        1 while the plugin runs
//	rustynet_plugin_state{kind,plugin,state}               1 for the plugin's state (running, restarting, broken, closed)
//	rustynet_plugin_restarts_total{kind,plugin}            relaunches since the daemon started
//	rustynet_plugin_missed_health_checks{kind,plugin}      health pings missed in a row
//	rustynet_peers                                         peers in the data plane
//	rustynet_peer_last_handshake_timestamp_seconds{node_id,public_key}  0 if never
//	rustynet_peer_last_handshake_age_seconds{node_id,public_key}        only for peers that shook hands
//	rustynet_peer_receive_bytes_total{node_id,public_key}
//	rustynet_peer_transmit_bytes_total{node_id,public_key}
//	rustynet_policy_filter_rules                           rules of the enforced packet filter (-1 before the first)
//	rustynet_feed_fetches_total{result}                    fetches by outcome: ok, failing, rejected
//	rustynet_feed_stalls_total                             fetches cut for stalling
//	rustynet_feed_stalled                                  1 while the feed is stalled
//	rustynet_feed_last_success_timestamp_seconds           0 before the first success
//
// plus the Go runtime's and the process's standard collectors (go_*,
// process_*). /healthz answers 200 and "healthy: …" when the node is
// healthy, else 503 and "degraded: …" or "restricted: …": the verdict of
// controlapi.Status.Check, the same as `rustynet status --check`.
package metrics
