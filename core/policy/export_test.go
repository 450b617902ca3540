package policy

// Test-only access to internals, for the external test package.

var (
	RouterServes = routerServes
	IsExit       = isExit
	Subtract     = subtract
	Intersect    = intersect
	Aggregate    = aggregate
)
