//go:build !linux && !darwin && !windows

package service

// Native fails: no service manager is supported here.
func Native() (Manager, error) { return nil, ErrUnsupported }
