package main

// rootCommand returns the command tree. Add a new command or group by
// adding its constructor here; see the package documentation.
func rootCommand() *command {
	return &command{
		name: "rustynet",
		help: "Rustynet operator CLI. Exit status: 0 ok, 1 rejected by verification\n" +
			"or policy, 2 usage or input error, 3 I/O or internal error; on failure\n" +
			"stderr starts with `error: CODE: message`.",
		subs: []*command{
			keyCommand(),
			membershipCommand(),
		},
	}
}
