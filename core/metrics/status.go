package metrics

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustynet/rustynet/core/controlapi"
)

// desc makes a metric description.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics read from status at each scrape.
var (
	descBuild        = desc("rustynet_build_info", "The daemon's build; always 1.", "version", "revision", "go_version", "protocols")
	descEpoch        = desc("rustynet_membership_epoch", "Epoch of the trusted membership state.")
	descLastUpdateTS = desc("rustynet_membership_last_update_timestamp_seconds", "Signed creation time of the newest trusted update, as a Unix time.")
	descLastUpdateAg = desc("rustynet_membership_last_update_age_seconds", "Seconds since the newest trusted update was created.")
	descRestricted   = desc("rustynet_membership_restricted", "1 while the node is in restricted-safe mode, else 0.")
	descForked       = desc("rustynet_membership_forked", "1 while the node holds evidence of a fork (docs/forks.md), else 0.")
	descStale        = desc("rustynet_membership_stale", "1 while the newest trusted update is older than max_update_age, else 0.")
	descDegraded     = desc("rustynet_health_degraded", "1 while the node reports itself degraded, else 0.")
	descCheckLevel   = desc("rustynet_health_check_level", "Health verdict, as `rustynet status --check` exits: 0 healthy, 1 degraded, 2 restricted or forked.")
	descPluginUp     = desc("rustynet_plugin_up", "1 while the plugin runs, else 0.", "kind", "plugin")
	descPluginState  = desc("rustynet_plugin_state", "1 for the plugin supervisor's current state, 0 for the others.", "kind", "plugin", "state")
	descRestarts     = desc("rustynet_plugin_restarts_total", "Relaunches of the plugin since the daemon started.", "kind", "plugin")
	descMissed       = desc("rustynet_plugin_missed_health_checks", "Health checks the running plugin has missed in a row.", "kind", "plugin")
	descPeers        = desc("rustynet_peers", "Peers in the data plane, as the backend reports it.")
	descHandshakeTS  = desc("rustynet_peer_last_handshake_timestamp_seconds", "Last WireGuard handshake with the peer, as a Unix time; 0 if none yet.", "node_id", "public_key")
	descHandshakeAge = desc("rustynet_peer_last_handshake_age_seconds", "Seconds since the last WireGuard handshake with the peer (peers that have had one).", "node_id", "public_key")
	descRx           = desc("rustynet_peer_receive_bytes_total", "Bytes received from the peer.", "node_id", "public_key")
	descTx           = desc("rustynet_peer_transmit_bytes_total", "Bytes sent to the peer.", "node_id", "public_key")
	descFilterRules  = desc("rustynet_policy_filter_rules", "Rules in the packet filter the node enforces; -1 before the first is in place.")
	descFeedStalls   = desc("rustynet_feed_stalls_total", "Fetches of the feed cut because the source stopped sending.")
	descFeedStalled  = desc("rustynet_feed_stalled", "1 while the feed is stalled, else 0.")
	descFeedSuccess  = desc("rustynet_feed_last_success_timestamp_seconds", "When a fetch last brought a log the node accepted, as a Unix time; 0 if never.")
	descScrapeError  = desc("rustynet_status_up", "1 if the daemon's status could be read for this scrape, else 0.")
)

// pluginStates are the values of rustynet_plugin_state's state label.
var pluginStates = []string{"running", "restarting", "broken", "closed"}

// statusCollector reads the daemon's status at each scrape.
type statusCollector struct{ m *Metrics }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBuild, descEpoch, descLastUpdateTS, descLastUpdateAg, descRestricted, descForked, descStale,
		descDegraded, descCheckLevel, descPluginUp, descPluginState, descRestarts, descMissed, descPeers, descHandshakeTS, descHandshakeAge,
		descRx, descTx, descFilterRules, descFeedStalls, descFeedStalled, descFeedSuccess, descScrapeError} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := c.m.src.Status(ctx)
	if err != nil {
		ch <- gauge(descScrapeError, 0)
		return
	}
	ch <- gauge(descScrapeError, 1)
	now := c.m.now()
	b := s.Build
	protocols := ""
	for i, p := range b.Protocols {
		if i > 0 {
			protocols += ","
		}
		protocols += strconv.Itoa(p)
	}
	ch <- gauge(descBuild, 1, b.Version, b.Revision, b.GoVersion, protocols)
	ch <- gauge(descEpoch, float64(s.Trust.Epoch))
	if t := s.Trust.LastUpdateAt; !t.IsZero() {
		ch <- gauge(descLastUpdateTS, float64(t.Unix()))
		ch <- gauge(descLastUpdateAg, now.Sub(t).Seconds())
	}
	ch <- gauge(descRestricted, boolean(s.Trust.Restricted))
	ch <- gauge(descForked, boolean(s.Trust.Forked != nil))
	ch <- gauge(descStale, boolean(s.Trust.Stale))
	ch <- gauge(descDegraded, boolean(s.Health.State != controlapi.HealthOK))
	ch <- gauge(descCheckLevel, float64(s.Check().Level))
	for _, p := range []struct {
		kind string
		st   controlapi.PluginStatus
	}{{"store", s.Store}, {"backend", s.Backend.Plugin}} {
		ch <- gauge(descPluginUp, boolean(p.st.State == "running"), p.kind, p.st.Name)
		for _, state := range pluginStates {
			ch <- gauge(descPluginState, boolean(p.st.State == state), p.kind, p.st.Name, state)
		}
		ch <- counter(descRestarts, float64(p.st.Restarts), p.kind, p.st.Name)
		ch <- gauge(descMissed, float64(p.st.MissedPings), p.kind, p.st.Name)
	}
	ch <- gauge(descPeers, float64(len(s.Peers)))
	for _, p := range s.Peers {
		hs := 0.0
		if !p.LastHandshake.IsZero() {
			hs = float64(p.LastHandshake.Unix())
			ch <- gauge(descHandshakeAge, now.Sub(p.LastHandshake).Seconds(), p.NodeID, p.PublicKey)
		}
		ch <- gauge(descHandshakeTS, hs, p.NodeID, p.PublicKey)
		ch <- counter(descRx, float64(p.RxBytes), p.NodeID, p.PublicKey)
		ch <- counter(descTx, float64(p.TxBytes), p.NodeID, p.PublicKey)
	}
	ch <- gauge(descFilterRules, float64(s.Trust.FilterRules))
	if f := s.Feed; f != nil {
		ch <- counter(descFeedStalls, float64(f.Stalls))
		ch <- gauge(descFeedStalled, boolean(f.State == controlapi.FeedStalled))
		success := 0.0
		if !f.LastSuccess.IsZero() {
			success = float64(f.LastSuccess.Unix())
		}
		ch <- gauge(descFeedSuccess, success)
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
