package hostroute

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestPlan(t *testing.T) {
	tests := []struct {
		name       string
		installed  []netip.Prefix
		want       []netip.Prefix
		addrs      []netip.Prefix
		wantRemove []netip.Prefix
		wantAdd    []netip.Prefix
	}{
		{name: "nothing"},
		{"first routes, sorted", nil, pfx("fd00::/64", "10.2.0.0/16", "10.1.0.0/16"), nil, nil, pfx("10.1.0.0/16", "10.2.0.0/16", "fd00::/64")},
		{"by difference", pfx("10.1.0.0/16", "10.2.0.0/16"), pfx("10.2.0.0/16", "10.3.0.0/16"), nil, pfx("10.1.0.0/16"), pfx("10.3.0.0/16")},
		{"already in place", pfx("10.1.0.0/16"), pfx("10.1.0.0/16"), nil, nil, nil},
		{"repeats", pfx("10.1.0.0/16"), pfx("10.2.0.0/16", "10.2.0.0/16"), nil, pfx("10.1.0.0/16"), pfx("10.2.0.0/16")},
		{"implied by an address is not installed", nil, pfx("100.64.0.0/10", "100.64.0.2/32"), pfx("100.64.0.1/10"), nil, pfx("100.64.0.2/32")},
		{"a host address implies nothing", nil, pfx("100.64.0.1/32"), pfx("100.64.0.1/32"), nil, pfx("100.64.0.1/32")},
		{"newly implied is removed", pfx("10.5.0.0/24"), pfx("10.5.0.0/24"), pfx("10.5.0.7/24"), pfx("10.5.0.0/24"), nil},
		{"no longer implied is added", nil, pfx("10.5.0.0/24"), pfx("10.6.0.7/24"), nil, pfx("10.5.0.0/24")},
		{"default routes", pfx("0.0.0.0/0"), pfx("::/0"), nil, pfx("0.0.0.0/0"), pfx("::/0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			installed, want := slices.Clone(tt.installed), slices.Clone(tt.want)
			remove, add := Plan(tt.installed, tt.want, tt.addrs)
			if diff := cmp.Diff(tt.wantRemove, remove, prefixCmp); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAdd, add, prefixCmp); diff != "" {
				t.Errorf("add (-want +got):\n%s", diff)
			}
			if !slices.Equal(installed, tt.installed) || !slices.Equal(want, tt.want) {
				t.Error("Plan modified its inputs")
			}
		})
	}
}

// routeTable is an in-memory Changer that fails the steps named in
// failOn ("add 10.0.0.0/8", "remove ...") and records the steps it made.
type routeTable struct {
	routes map[netip.Prefix]bool
	failOn map[string]bool
	log    []string
}

func (r *routeTable) step(op string, p netip.Prefix, do func()) error {
	s := op + " " + p.String()
	r.log = append(r.log, s)
	if r.failOn[s] {
		return fmt.Errorf("injected failure of %s", s)
	}
	do()
	return nil
}

func (r *routeTable) AddRoute(p netip.Prefix) error {
	return r.step("add", p, func() { r.routes[p] = true })
}

func (r *routeTable) RemoveRoute(p netip.Prefix) error {
	return r.step("remove", p, func() { delete(r.routes, p) })
}

func (r *routeTable) list() []netip.Prefix {
	var out []netip.Prefix
	for p := range r.routes {
		out = append(out, p)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out
}

func TestApply(t *testing.T) {
	before := pfx("10.1.0.0/16", "10.2.0.0/16")
	remove, add := pfx("10.1.0.0/16", "10.2.0.0/16"), pfx("10.3.0.0/16", "10.4.0.0/16")
	tests := []struct {
		name     string
		failOn   []string
		wantErr  bool
		wantLog  []string
		wantLeft []netip.Prefix
	}{
		{
			name:     "all steps",
			wantLog:  []string{"remove 10.1.0.0/16", "remove 10.2.0.0/16", "add 10.3.0.0/16", "add 10.4.0.0/16"},
			wantLeft: pfx("10.3.0.0/16", "10.4.0.0/16"),
		},
		{
			name:    "an addition fails: everything is undone, newest first",
			failOn:  []string{"add 10.4.0.0/16"},
			wantErr: true,
			wantLog: []string{"remove 10.1.0.0/16", "remove 10.2.0.0/16", "add 10.3.0.0/16", "add 10.4.0.0/16",
				"remove 10.3.0.0/16", "add 10.2.0.0/16", "add 10.1.0.0/16"},
			wantLeft: before,
		},
		{
			name:     "the first step fails",
			failOn:   []string{"remove 10.1.0.0/16"},
			wantErr:  true,
			wantLog:  []string{"remove 10.1.0.0/16"},
			wantLeft: before,
		},
		{
			name:    "undoing fails too",
			failOn:  []string{"add 10.3.0.0/16", "add 10.2.0.0/16"},
			wantErr: true,
			wantLog: []string{"remove 10.1.0.0/16", "remove 10.2.0.0/16", "add 10.3.0.0/16",
				"add 10.2.0.0/16", "add 10.1.0.0/16"},
			wantLeft: pfx("10.1.0.0/16"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &routeTable{routes: map[netip.Prefix]bool{}, failOn: map[string]bool{}}
			for _, p := range before {
				r.routes[p] = true
			}
			for _, s := range tt.failOn {
				r.failOn[s] = true
			}
			err := Apply(r, remove, add, slog.New(slog.DiscardHandler))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply: got %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantLog, r.log); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, r.list(), prefixCmp); diff != "" {
				t.Errorf("routes after Apply (-want +got):\n%s", diff)
			}
			// Every failure, the step's and the undo's, is in the error.
			for _, f := range tt.failOn {
				if !strings.Contains(fmt.Sprint(err), "injected failure of "+f) {
					t.Errorf("Apply: got %v, want it to report %q", err, f)
				}
			}
		})
	}
}
