package service

// Native returns this platform's service manager: the Service Control
// Manager.
func Native() (Manager, error) { return WindowsSCM{SCM: NewSCM()}, nil }
