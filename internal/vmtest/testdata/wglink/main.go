// Command wglink creates a WireGuard link over netlink and prints its type
// as the kernel reports it back. vmtest's smoke test runs it in the guest
// to prove that the WireGuard module loads and works.
package main

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

func main() {
	if err := netlink.LinkAdd(&netlink.Wireguard{LinkAttrs: netlink.LinkAttrs{Name: "wgsmoke0"}}); err != nil {
		fmt.Fprintln(os.Stderr, "wglink: creating the link:", err)
		os.Exit(1)
	}
	link, err := netlink.LinkByName("wgsmoke0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "wglink: reading the link back:", err)
		os.Exit(1)
	}
	fmt.Println(link.Type())
	if err := netlink.LinkDel(link); err != nil {
		fmt.Fprintln(os.Stderr, "wglink: deleting the link:", err)
		os.Exit(1)
	}
}
