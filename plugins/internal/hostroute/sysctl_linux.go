package hostroute

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

// The sysctls a Link changes, by their paths under /proc/sys.
const (
	ipv4Forward  = "net/ipv4/ip_forward"
	ipv6Forward  = "net/ipv6/conf/all/forwarding"
	srcValidMark = "net/ipv4/conf/all/src_valid_mark"
)

// sysctl is one of the network namespace's sysctls, opened when the Link
// was: a /proc/sys file opened by a thread in a namespace reads and writes
// that namespace's value whichever thread uses it later.
type sysctl struct {
	path string
	f    *os.File // nil if it could not be opened
	err  error    // why f is nil
	// saved is the value before this Link changed it; "" if it has not.
	saved string
}

// openSysctl opens /proc/sys/path for reading and writing. A failure is
// kept, to be reported if the value is ever needed.
func openSysctl(path string) *sysctl {
	f, err := os.OpenFile("/proc/sys/"+path, os.O_RDWR, 0)
	return &sysctl{path: path, f: f, err: err}
}

// get reads the value.
func (s *sysctl) get() (string, error) {
	if s.f == nil {
		return "", s.unavailable()
	}
	buf := make([]byte, 64)
	n, err := s.f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return "", s.failed("read", err)
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

// put writes v.
func (s *sysctl) put(v string) error {
	if s.f == nil {
		return s.unavailable()
	}
	if _, err := s.f.WriteAt([]byte(v+"\n"), 0); err != nil {
		return s.failed("write", err)
	}
	return nil
}

// ensure makes the value v, remembering the value it replaced (once), and
// reports whether it changed it.
func (s *sysctl) ensure(v string) (bool, error) {
	cur, err := s.get()
	if err != nil || cur == v {
		return false, err
	}
	if err := s.put(v); err != nil {
		return false, err
	}
	if s.saved == "" {
		s.saved = cur
	}
	return true, nil
}

// restore puts back the value ensure replaced, if it replaced one.
func (s *sysctl) restore() error {
	if s.saved == "" {
		return nil
	}
	if err := s.put(s.saved); err != nil {
		return err
	}
	s.saved = ""
	return nil
}

func (s *sysctl) close() {
	if s.f != nil {
		s.f.Close()
	}
}

// unavailable is the error for a sysctl that could not be opened: absent
// (IPv6 disabled) or not writable (no privileges, or /proc/sys mounted
// read-only as in many containers: EROFS).
func (s *sysctl) unavailable() error {
	if errors.Is(s.err, fs.ErrNotExist) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "sysctl %s does not exist here: %v", s.name(), s.err)
	}
	return s.failed("open", s.err)
}

func (s *sysctl) failed(op string, err error) error {
	code := hostapi.CodeUnavailable
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
		code = hostapi.CodePermission
	}
	return hostapi.Errorf(code, "%s sysctl %s: %v", op, s.name(), err)
}

// name is the sysctl's dotted name, as sysctl(8) writes it.
func (s *sysctl) name() string { return strings.ReplaceAll(s.path, "/", ".") }
