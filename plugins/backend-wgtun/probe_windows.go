package wgtun

import (
	"github.com/rustynet/rustynet/hostapi"
	"golang.org/x/sys/windows"
)

// probe checks, without creating an adapter, what creating one needs: an
// elevated (Administrator) process and a loadable wintun.dll, searched
// where the wintun package searches.
func probe() error {
	if !windows.GetCurrentProcessToken().IsElevated() {
		return hostapi.Errorf(hostapi.CodePermission, "creating a Wintun adapter needs Administrator")
	}
	h, err := windows.LoadLibraryEx("wintun.dll", 0, windows.LOAD_LIBRARY_SEARCH_APPLICATION_DIR|windows.LOAD_LIBRARY_SEARCH_SYSTEM32)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "load wintun.dll: %v (place it next to the plugin binary)", err)
	}
	windows.FreeLibrary(h)
	return nil
}
