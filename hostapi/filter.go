package hostapi

import (
	"errors"
	"net/netip"
)

// CheckFilter reports whether f is valid as FilterRule states: every
// prefix passes CheckRoute, every port range is not empty, every Proto is
// one of the Proto constants. Its error is ErrInvalidArgument, naming the
// rule. A rule without Src or Dst is valid and admits nothing. It is the
// one check of Backend.SetFilter's input; backends and test doubles call it.
func CheckFilter(f Filter) error {
	for i, r := range f.Rules {
		switch r.Proto {
		case ProtoAny, ProtoTCP, ProtoUDP, ProtoICMP:
		default:
			return Errorf(CodeInvalidArgument, "filter rule %d: unknown protocol %d", i, r.Proto)
		}
		if err := checkFilterPrefixes(i, "source", r.Src); err != nil {
			return err
		}
		if err := checkFilterPrefixes(i, "destination", r.Dst); err != nil {
			return err
		}
		for _, pr := range r.Ports {
			if pr.First > pr.Last {
				return Errorf(CodeInvalidArgument, "filter rule %d: empty port range %d-%d", i, pr.First, pr.Last)
			}
		}
	}
	return nil
}

func checkFilterPrefixes(rule int, what string, ps []netip.Prefix) error {
	for _, p := range ps {
		if err := CheckRoute(p); err != nil {
			msg := err.Error()
			var e *Error
			if errors.As(err, &e) {
				msg = e.Msg
			}
			return Errorf(CodeInvalidArgument, "filter rule %d: %s: %s", rule, what, msg)
		}
	}
	return nil
}
