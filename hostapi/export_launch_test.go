package hostapi

// LaunchSteps are the steps a traced launch reports, in order.
var LaunchSteps = []string{stepSpawned, stepHandshake, stepTLS, stepReady}

// WithLaunchTrace returns cfg with trace called as the launch passes each
// of LaunchSteps.
func WithLaunchTrace(cfg LaunchConfig, trace func(step string)) LaunchConfig {
	cfg.trace = trace
	return cfg
}

// WithGoPluginTLS makes a plugin leave TLS to go-plugin's AutoMTLS (P-521
// certificates, no pinning of its own), as one built on an older hostapi.
func WithGoPluginTLS() ServeOption {
	return func(o *serveOptions) { o.goPluginTLS = true }
}
