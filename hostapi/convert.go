package hostapi

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// The conversions between hostapi values and their protobuf form. Each one
// validates what it is given, in both directions, and fails with
// CodeInvalidArgument naming the offending field (what); nothing that fails
// to convert is sent or handed to an implementation.

func keyFromBytes(b []byte, what string) (Key, error) {
	var k Key
	if len(b) != KeyLen {
		return k, Errorf(CodeInvalidArgument, "%s: key is %d bytes, want %d", what, len(b), KeyLen)
	}
	copy(k[:], b)
	return k, nil
}

func privateKeyFromBytes(b []byte, what string) (PrivateKey, error) {
	if len(b) != KeyLen {
		return PrivateKey{}, Errorf(CodeInvalidArgument, "%s: private key is %d bytes, want %d", what, len(b), KeyLen)
	}
	return PrivateKey(b), nil
}

func keysToBytes(keys []Key) [][]byte {
	if len(keys) == 0 {
		return nil
	}
	out := make([][]byte, len(keys))
	for i := range keys {
		out[i] = keys[i][:]
	}
	return out
}

func keysFromBytes(bs [][]byte, what string) ([]Key, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	out := make([]Key, len(bs))
	for i, b := range bs {
		k, err := keyFromBytes(b, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}

func prefixesToStrings(ps []netip.Prefix, what string) ([]string, error) {
	return prefixesToStringsNamed(ps, func() string { return what })
}

// prefixesToStringsNamed is prefixesToStrings naming the list by what()
// only in an error.
func prefixesToStringsNamed(ps []netip.Prefix, what func() string) ([]string, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		if !p.IsValid() {
			return nil, Errorf(CodeInvalidArgument, "%s[%d]: invalid prefix %s", what(), i, p)
		}
		out[i] = p.String()
	}
	return out, nil
}

func prefixesFromStrings(ss []string, what string) ([]netip.Prefix, error) {
	return prefixesFromStringsNamed(ss, func() string { return what })
}

// prefixesFromStringsNamed is prefixesFromStrings naming the list by
// what() only in an error: a filter's thousand lists are not named
// beforehand.
func prefixesFromStringsNamed(ss []string, what func() string) ([]netip.Prefix, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, Errorf(CodeInvalidArgument, "%s[%d]: %v", what(), i, err)
		}
		out[i] = p
	}
	return out, nil
}

// addrPortToString encodes ap; the zero AddrPort (unknown, off) is "".
func addrPortToString(ap netip.AddrPort, what string) (string, error) {
	if ap == (netip.AddrPort{}) {
		return "", nil
	}
	if !ap.IsValid() {
		return "", Errorf(CodeInvalidArgument, "%s: invalid address and port %s", what, ap)
	}
	return ap.String(), nil
}

func addrPortFromString(s, what string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, Errorf(CodeInvalidArgument, "%s: %v", what, err)
	}
	return ap, nil
}

func addrsToStrings(as []netip.Addr, what string) ([]string, error) {
	if len(as) == 0 {
		return nil, nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		if !a.IsValid() {
			return nil, Errorf(CodeInvalidArgument, "%s[%d]: invalid address", what, i)
		}
		out[i] = a.String()
	}
	return out, nil
}

func addrsFromStrings(ss []string, what string) ([]netip.Addr, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, Errorf(CodeInvalidArgument, "%s[%d]: %v", what, i, err)
		}
		out[i] = a
	}
	return out, nil
}

// The times an int64 of Unix nanoseconds can hold.
var (
	minUnixNanoTime = time.Unix(0, math.MinInt64)
	maxUnixNanoTime = time.Unix(0, math.MaxInt64)
)

// timeToUnixNano encodes t; the zero time is 0.
func timeToUnixNano(t time.Time, what string) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minUnixNanoTime) || t.After(maxUnixNanoTime) {
		return 0, Errorf(CodeInvalidArgument, "%s: time %s is outside the int64 Unix nanosecond range", what, t)
	}
	return t.UnixNano(), nil
}

// timeFromUnixNano decodes n; 0 is the zero time.
func timeFromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func portFromUint32(v uint32, what string) (uint16, error) {
	if v > math.MaxUint16 {
		return 0, Errorf(CodeInvalidArgument, "%s: port %d exceeds 65535", what, v)
	}
	return uint16(v), nil
}

func intFromInt64(n int64, what string) (int, error) {
	if int64(int(n)) != n {
		return 0, Errorf(CodeInvalidArgument, "%s: %d does not fit in an int", what, n)
	}
	return int(n), nil
}

func protoToPB(p Proto, what string) (pb.Proto, error) {
	if p > ProtoICMP {
		return 0, Errorf(CodeInvalidArgument, "%s: unknown protocol %d", what, p)
	}
	return pb.Proto(p), nil
}

func protoFromPB(p pb.Proto, what string) (Proto, error) {
	if p < 0 || p > pb.Proto(ProtoICMP) {
		return 0, Errorf(CodeInvalidArgument, "%s: unknown protocol %d", what, p)
	}
	return Proto(p), nil
}
