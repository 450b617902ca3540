// Package paths decides where a node keeps its configuration, its state
// and its control socket by default: one function, Default, for every
// command (the daemon, the CLI, the service installer) and every platform.
//
// There are two layouts, chosen by Scope:
//
//   - System: the node of the machine, run as root (Administrator, elevated,
//     or LocalSystem on Windows) or as a service.
//   - User: a rootless node of the invoking user, under the XDG base
//     directories.
//
// The system layout per platform:
//
//	                 Linux (and other Unix)         macOS                                        Windows
//	configuration    /etc/rustynet/rustynet.toml    /Library/Application Support/rustynet/rustynet.toml    %ProgramData%\rustynet\rustynet.toml
//	state_dir        /var/lib/rustynet/state        /Library/Application Support/rustynet/state  %ProgramData%\rustynet\state
//	high-water marks /var/lib/rustynet/highwater    /Library/Application Support/rustynet/highwater  %ProgramData%\rustynet\highwater
//	control socket   /run/rustynet/control.sock     /var/run/rustynet/control.sock               \\.\pipe\rustynet
//
// The user layout, on every platform (HOME is %USERPROFILE% on Windows):
//
//	configuration    $XDG_CONFIG_HOME/rustynet/rustynet.toml, else ~/.config/rustynet/rustynet.toml
//	state_dir        $XDG_STATE_HOME/rustynet/state, else ~/.local/state/rustynet/state
//	high-water marks $XDG_STATE_HOME/rustynet/highwater, else ~/.local/state/rustynet/highwater
//	control socket   $XDG_RUNTIME_DIR/rustynet/control.sock, else <state_dir>.sock
//	                 beside the state directory (\\.\pipe\rustynet on Windows)
//
// A relative XDG variable is ignored, as the XDG base directory
// specification requires.
//
// CurrentScope picks the layout for this process: System when it runs as
// root (euid 0; on Windows, with an elevated token, which LocalSystem
// services have), User otherwise — except that an absolute XDG_STATE_HOME
// set in the environment is an explicit choice of the user layout, also
// for root, so that root can run a private node beside the system's (and
// tests stay in their temporary directories).
package paths
