package service

// Native returns this platform's service manager: launchd.
func Native() (Manager, error) { return Launchd{Root: "/", Run: Exec}, nil }
