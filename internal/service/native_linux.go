package service

// Native returns this platform's service manager: systemd.
func Native() (Manager, error) { return Systemd{Root: "/", Run: Exec}, nil }
