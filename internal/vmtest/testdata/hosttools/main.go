// Command hosttools drives the host's iproute2 ip and wireguard-tools wg,
// which vmtest puts into the guest with their interpreter and libraries:
// it creates a kernel WireGuard link with ip, configures it with wg, and
// prints what wg reads back. vmtest's smoke test runs it in the guest.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	steps := [][]string{
		{"ip", "link", "add", "wgtools0", "type", "wireguard"},
		{"wg", "set", "wgtools0", "listen-port", "51999"},
		{"wg", "show", "wgtools0", "listen-port"},
		{"ip", "link", "del", "wgtools0"},
	}
	for _, step := range steps {
		out, err := exec.Command(step[0], step[1:]...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "hosttools: %s: %v\n%s", strings.Join(step, " "), err, out)
			os.Exit(1)
		}
		os.Stdout.Write(out)
	}
}
