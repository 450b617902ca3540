// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): a Type=notify service tells the service manager that it
// is ready, reloading or stopping by sending one datagram of
// newline-separated VAR=value assignments to the Unix socket named by
// $NOTIFY_SOCKET. Outside systemd the variable is unset and every call is
// a no-op.
package sdnotify

import (
	"errors"
	"net"
	"os"
	"strings"
)

// Messages a service sends (see sd_notify(3)).
const (
	Ready    = "READY=1"    // start-up is finished: systemd considers the service started
	Stopping = "STOPPING=1" // the service is shutting down
)

// Status returns the STATUS= assignment: a one-line description that
// `systemctl status` shows.
func Status(s string) string {
	return "STATUS=" + strings.ReplaceAll(s, "\n", " ")
}

// EnvSocket is the variable that names the notification socket.
const EnvSocket = "NOTIFY_SOCKET"

// Notify sends the assignments, one datagram, to the socket $NOTIFY_SOCKET
// names. It reports false and no error when the variable is not set (not
// run by systemd, or not as Type=notify). A name starting with '@' is in
// Linux's abstract namespace.
func Notify(assignments ...string) (sent bool, err error) {
	return NotifySocket(os.Getenv(EnvSocket), assignments...)
}

// NotifySocket is Notify to the socket addr names; "" sends nothing.
func NotifySocket(addr string, assignments ...string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		return false, errors.New("sdnotify: " + EnvSocket + " is neither an absolute path nor an abstract socket name")
	}
	ua := &net.UnixAddr{Name: addr, Net: "unixgram"}
	if addr[0] == '@' {
		ua.Name = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, ua)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(assignments, "\n") + "\n")); err != nil {
		return false, err
	}
	return true, nil
}
