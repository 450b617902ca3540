package hostapi

// LaunchSteps are the steps a traced launch reports, in order.
var LaunchSteps = []string{stepSpawned, stepHandshake, stepTLS, stepReady}

// WithLaunchTrace returns cfg with trace called as the launch passes each
// of LaunchSteps.
func WithLaunchTrace(cfg LaunchConfig, trace func(step string)) LaunchConfig {
	cfg.trace = trace
	return cfg
}
