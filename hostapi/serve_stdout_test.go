package hostapi

import (
	"strings"
	"testing"
)

// closeRecorder is an io.WriteCloser that keeps what it gets.
type closeRecorder struct {
	strings.Builder
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestForwardHandshakeRoutesOnlyTheHandshake(t *testing.T) {
	const hs = "1|1|unix|/tmp/plugin123|grpc|MIIBcert+/=\n"
	tests := []struct {
		name      string
		in        string
		wantOut   string
		wantSpill string
	}{
		{"handshake alone", hs, hs, ""},
		{"lines before and after", "early\n" + hs + "late\n", hs, "early\nlate\n"},
		{"partial line glued to it", "abc12" + hs, hs, "abc12"},
		{"multiplexing flag", "1|1|unix|/tmp/p|grpc|cert|true\n", "1|1|unix|/tmp/p|grpc|cert|true\n", ""},
		{"only the first", hs + hs, hs, hs},
		{"tcp on windows", "1|1|tcp|127.0.0.1:10000|grpc|\r\n", "1|1|tcp|127.0.0.1:10000|grpc|\r\n", ""},
		{"no handshake", "hello\nworld", "", "hello\nworld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out closeRecorder
			var spill strings.Builder
			forwardHandshake(strings.NewReader(tt.in), &out, &spill, "")
			if out.String() != tt.wantOut || spill.String() != tt.wantSpill {
				t.Errorf("got out %q spill %q, want out %q spill %q", out.String(), spill.String(), tt.wantOut, tt.wantSpill)
			}
			if out.closed != (tt.wantOut != "") {
				t.Errorf("handshake stdout closed = %v, want %v", out.closed, tt.wantOut != "")
			}
		})
	}
}
