package main

import (
	"flag"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// membershipCommand is the "membership" group: offline governance of a
// network's membership through quorum-signed updates and portable logs.
func membershipCommand() *command {
	subs := []*command{initCommand()}
	subs = append(subs, proposeCommands()...)
	subs = append(subs, signCommand(), verifyCommand(), applyCommand(), statusCommand(), exportCommand())
	return &command{
		name:    "membership",
		summary: "create, propose, sign, verify and apply membership updates",
		help: "--from FILE names a portable log: a JSON array of signed updates from\n" +
			"genesis on (a signed genesis file is a log of one). It is verified\n" +
			"entry by entry; pin its genesis with --genesis-root HEX.",
		subs: subs,
	}
}

// logFlags are the flags of every command that reads a trusted log.
type logFlags struct {
	from        string
	genesisRoot string
}

// addLogFlags defines --from and --genesis-root on fs.
func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{}
	fs.StringVar(&lf.from, "from", "", "the portable log `FILE` to verify against")
	fs.StringVar(&lf.genesisRoot, "genesis-root", "", "pin the genesis state root (`HEX`); without it the log's own genesis is trusted")
	return lf
}

// trustedLog is a portable log that passed verification from its genesis.
type trustedLog struct {
	path    string
	raw     []byte // the file as read, to detect concurrent change on rewrite
	entries []*membership.SignedUpdate
	chain   *membership.Chain
	pinned  bool // the genesis root matched --genesis-root
}

// genesisRoot returns the state root the log's genesis produced.
func (t *trustedLog) genesisRoot() membership.Hash { return t.entries[0].Body.NewStateRoot }

// load reads and verifies the log named by --from: every entry, from the
// genesis (pinned to --genesis-root if given) on.
func (lf *logFlags) load(e *env) (*trustedLog, error) {
	if lf.from == "" {
		return nil, e.usagef("--from is required")
	}
	var pin membership.Hash
	if lf.genesisRoot != "" {
		h, err := membership.ParseHash(lf.genesisRoot)
		if err != nil {
			return nil, e.usagef("--genesis-root: want 64 lower-case hex digits")
		}
		pin = h
	}
	raw, err := readInput(lf.from)
	if err != nil {
		return nil, err
	}
	entries, err := membership.ParseLog(raw, nil)
	if err != nil {
		return nil, rejected(lf.from+": ", err)
	}
	chain, applied, err := membership.Replay(entries, pin, nil)
	if err != nil {
		return nil, rejected(fmt.Sprintf("%s: entry %d: ", lf.from, applied+1), err)
	}
	t := &trustedLog{path: lf.from, raw: raw, entries: entries, chain: chain, pinned: lf.genesisRoot != ""}
	if !t.pinned {
		e.notef("genesis root not pinned (--genesis-root); trusted %s's own genesis %s", lf.from, t.genesisRoot())
	}
	return t, nil
}

// readUpdate reads and decodes a signed update file. It checks form only.
func readUpdate(path string) (*membership.SignedUpdate, []byte, error) {
	raw, err := readInput(path)
	if err != nil {
		return nil, nil, err
	}
	u, err := membership.ParseSignedUpdate(raw, nil)
	if err != nil {
		return nil, nil, rejected(path+": ", err)
	}
	return u, raw, nil
}
