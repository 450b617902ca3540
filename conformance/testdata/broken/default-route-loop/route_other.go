//go:build !linux

package main

import (
	"errors"
	"net/netip"
)

var errUnsupported = errors.New("this broken plugin is written for Linux only")

func replaceRoute(string, netip.Prefix) error { return errUnsupported }
func delRoute(string, netip.Prefix) error     { return errUnsupported }
