package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// signCommand is "membership sign-update".
func signCommand() *command {
	return &command{
		name:    "sign-update",
		args:    "--key FILE [--passphrase-file FILE] [--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] UPDATE",
		summary: "add your approver signature to an update file, in place",
		help: "UPDATE is first checked against the head of the log (--from, --config,\n" +
			"else the local daemon's log, verified here, when a daemon answers): a key\n" +
			"that is not an approver of the update is refused (UNKNOWN_SIGNER), and so\n" +
			"is an update the log would refuse for another reason (STALE_EPOCH,\n" +
			"EXPIRED, ...); nothing is written then. After signing it says which\n" +
			"signatures are still missing. A genesis is always checked, against the\n" +
			"approvers it names. With no log and no daemon (signing offline) only a\n" +
			"second signature of the same key is refused. Review UPDATE with\n" +
			"verify-update first; a signature added by mistake is removed with\n" +
			"`membership unsign`. An encrypted --key is opened with its passphrase\n" +
			"(--passphrase-file FILE, $RUSTYNET_KEY_PASSPHRASE, or the terminal).",
		run: runSign,
	}
}

// unsignCommand is "membership unsign".
func unsignCommand() *command {
	return &command{
		name:    "unsign",
		args:    "--key-id ID|--public-key BASE64 [--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] UPDATE",
		summary: "remove one signature from an update file, in place",
		help: "--public-key names the signing key as the update file shows it. --key-id\n" +
			"names an approver: its key is looked up in UPDATE (the approvers of a\n" +
			"genesis, the approver an update adds) or among the approvers at the head\n" +
			"of the log (--from, --config, else the local daemon's). Naming a signature UPDATE does not carry is a\n" +
			"usage error, and nothing is written.",
		run: runUnsign,
	}
}

// signOutput is what sign-update prints.
type signOutput struct {
	File       string `json:"file"`
	PublicKey  string `json:"public_key"` // of the signature just added
	Signatures int    `json:"signatures"` // on the update now
	// Checked says the signer was checked: against the log of --from, or
	// the approvers a genesis names. The fields below are set only then.
	Checked    bool   `json:"checked"`
	ApproverID string `json:"approver_id,omitempty"` // the signer
	// Complete: the update carries every signature it needs.
	Complete bool                `json:"complete"`
	Missing  []missingSignatures `json:"missing"` // what it still needs; [] if complete or not known
	// Problem is another signature entry that makes the update fail
	// (a key that is no approver's, a signature that does not verify);
	// what is missing is not known until it is removed.
	Problem string `json:"problem,omitempty"`
}

// missingSignatures is one requirement an update does not meet yet.
type missingSignatures struct {
	// What is "current_approvers" or "resulting_approvers" (a threshold of
	// that approver set), "initial_approvers" (a genesis: every one of
	// them), "owner" or "self_signature" (an added approver's own).
	What string   `json:"what"`
	Have uint64   `json:"have"`
	Need uint64   `json:"need"`
	From []string `json:"from"` // the approvers who could give it and have not signed
}

// runSign implements "membership sign-update".
func runSign(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	keyFile := fs.String("key", "", "the approver private key `FILE`")
	pf := addPassphraseFlag(fs, "of --key, if it is encrypted")
	lf := addLogFlags(fs)
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.require(fs, "key"); err != nil {
		return err
	}
	key, err := readPrivateKey(e, *keyFile, pf)
	if err != nil {
		return err
	}
	if key.kind != kindApprover {
		return e.usagef("%s is a node key; updates are signed with approver keys", *keyFile)
	}
	u, raw, err := readUpdate(pos[0])
	if err != nil {
		return err
	}
	if err := u.Sign(key.approver); err != nil {
		return rejected("", err)
	}
	o := signOutput{File: pos[0], PublicKey: key.publicBase64(), Signatures: len(u.Signatures), Missing: []missingSignatures{}}
	switch {
	case u.Body.Operation.Type == membership.OpGenesis:
		if lf.from != "" {
			e.notef("a genesis is checked against the approvers it names; %s was not read", lf.from)
		}
		res, verr := e.evaluate(nil, u)
		if err := o.check(nil, res, verr); err != nil {
			return err
		}
	default:
		t, err := lf.loadIfAny(ctx, e)
		if err != nil {
			return err
		}
		if t == nil {
			e.notef("not checked whether %s is an approver of this update, nor which signatures it still needs: no local daemon answers; give --from LOG|DIR", o.PublicKey)
			break
		}
		defer t.close(ctx, true)
		if err := t.requireTrusted("checking the signer"); err != nil {
			return err
		}
		res, verr := e.evaluate(t, u)
		if err := o.check(t, res, verr); err != nil {
			return err
		}
	}
	if err := rewriteFile(pos[0], raw, u.Encode()); err != nil {
		return err
	}
	if e.json {
		return e.printJSON(o)
	}
	o.writeText(e)
	return nil
}

// check completes o from the verification of the update just signed
// (res, verr), checked against t (nil for a genesis). It refuses the
// signature, with the verdict, if the signer is not an approver of the
// update or the update would be refused before its signatures count.
func (o *signOutput) check(t *trustedLog, res *membership.Result, verr error) error {
	a := &res.Auth
	refused := fmt.Sprintf("not signed: %s is not a valid genesis", o.File)
	notApprover := fmt.Sprintf("not signed: key %s is not one of the approvers %s names (%s)", o.PublicKey, o.File, strings.Join(approverIDs(res, false), ", "))
	if t != nil {
		refused = fmt.Sprintf("not signed: %s does not apply to %s at epoch %d", o.File, t.path, res.Pre.Epoch())
		notApprover = fmt.Sprintf("not signed: key %s is not an approver of %s at epoch %d of %s (its approvers: %s)",
			o.PublicKey, o.File, res.Pre.Epoch(), t.path, strings.Join(approverIDs(res, false), ", "))
	}
	i := slices.IndexFunc(a.Signers, func(c membership.SignerCheck) bool { return c.Key.String() == o.PublicKey })
	if i < 0 { // verification stopped before looking at signatures
		return withNextStep(rejected(refused, verr))
	}
	me := a.Signers[i]
	if !me.InPre && !me.InPost && !me.Recovery {
		return &cliError{code: string(membership.UnknownSigner), exit: exitRejected, msg: notApprover}
	}
	o.Checked, o.ApproverID = true, me.ID
	switch membership.CodeOf(verr) {
	case "":
		o.Complete = true
	case membership.ThresholdNotMet, membership.OwnerRequired, membership.NewApproverMustSign:
		o.Missing = stillMissing(res)
	case membership.UnknownSigner, membership.BadSignature:
		o.Problem = signatureProblem(a.Signers, o.File)
	default:
		return withNextStep(rejected(refused, verr))
	}
	return nil
}

// stillMissing lists what the update of res still needs, from its
// authorization so far.
func stillMissing(res *membership.Result) []missingSignatures {
	a := &res.Auth
	signed := map[string]bool{}
	for _, c := range a.Signers {
		if c.Valid && c.ID != "" {
			signed[c.ID] = true
		}
	}
	// A fork resolution's double-signers are no one to ask: their
	// signatures on it count toward nothing.
	unsigned := func(ids []string) []string {
		out := []string{}
		for _, id := range ids {
			if !signed[id] && !slices.Contains(a.DoubleSigners, id) {
				out = append(out, id)
			}
		}
		return out
	}
	out := []missingSignatures{}
	if res.Update.Body.Operation.Type == membership.OpGenesis {
		// Every initial approver signs: that covers the threshold.
		if n := len(a.MustSign); len(a.Missing) > 0 {
			out = append(out, missingSignatures{What: "initial_approvers", Have: uint64(n - len(a.Missing)), Need: uint64(n), From: append([]string{}, a.Missing...)})
		}
		return out
	}
	var pre, owners []string
	for _, ap := range res.Pre.Approvers() {
		pre = append(pre, ap.ID)
		if ap.Role == membership.RoleOwner {
			owners = append(owners, ap.ID)
		}
	}
	if a.Old != nil && !a.Old.Met() {
		out = append(out, missingSignatures{What: "current_approvers", Have: a.Old.Have, Need: a.Old.Need, From: unsigned(pre)})
	}
	if a.New != nil && !a.New.Met() {
		out = append(out, missingSignatures{What: "resulting_approvers", Have: a.New.Have, Need: a.New.Need, From: unsigned(approverIDs(res, true))})
	}
	if a.OwnerRequired && !a.OwnerSigned {
		out = append(out, missingSignatures{What: "owner", Need: 1, From: unsigned(owners)})
	}
	if r := a.Recovery; r != nil && !r.Met() {
		var keys []string
		if rec := res.Pre.Recovery(); rec != nil {
			for _, k := range rec.Keys {
				keys = append(keys, "recovery:"+k.String())
			}
		}
		out = append(out, missingSignatures{What: "recovery_keys", Have: r.Have, Need: r.Need, From: unsigned(keys)})
	}
	for _, id := range a.Missing {
		out = append(out, missingSignatures{What: "self_signature", Need: 1, From: []string{id}})
	}
	return out
}

// approverIDs returns the approvers whose signatures count on the update
// of res: those of its pre-state and one it adds, or, for a genesis, those
// it names. With resulting, only those of the state it leads to: not one
// it removes.
func approverIDs(res *membership.Result, resulting bool) []string {
	op := &res.Update.Body.Operation
	var ids []string
	if op.Type == membership.OpGenesis {
		for _, ap := range op.Approvers {
			ids = append(ids, ap.ID)
		}
		return ids
	}
	for _, ap := range res.Pre.Approvers() {
		if !resulting || op.Type != membership.OpRemoveApprover || ap.ID != op.ApproverID {
			ids = append(ids, ap.ID)
		}
	}
	if op.Type == membership.OpAddApprover {
		ids = append(ids, op.Approver.ID)
	}
	return ids
}

// signatureProblem describes the signature entry that makes the update
// fail although the new signature is good: the first entry of a key that
// is no approver's, else the first that does not verify.
func signatureProblem(signers []membership.SignerCheck, file string) string {
	for _, c := range signers {
		if !c.InPre && !c.InPost && !c.Recovery {
			return fmt.Sprintf("%s also carries a signature of %s, which is not an approver: every node refuses it (UNKNOWN_SIGNER) until it is removed with `rustynet membership unsign --public-key %s %s`", file, c.Key, c.Key, file)
		}
	}
	for _, c := range signers {
		if !c.Valid {
			return fmt.Sprintf("the signature of %s (%s) on %s does not verify: remove it with `rustynet membership unsign --public-key %s %s` and have %s sign again", c.ID, c.Key, file, c.Key, file, c.ID)
		}
	}
	return ""
}

// writeText prints what sign-update did for people.
func (o *signOutput) writeText(e *env) {
	w := e.stdout
	fmt.Fprintf(w, "signed %s as %s (%d signature(s) now)\n", o.File, o.PublicKey, o.Signatures)
	if !o.Checked {
		return
	}
	switch {
	case o.Problem != "":
		e.notef("%s", o.Problem)
	case o.Complete:
		fmt.Fprintf(w, "complete: %s has every signature it needs; apply it with `rustynet membership apply-update`\n", o.File)
	default:
		fmt.Fprintln(w, "still missing:")
		for _, m := range o.Missing {
			fmt.Fprintf(w, "  %s\n", m.text())
		}
	}
}

// text says what m asks for, and from whom.
func (m missingSignatures) text() string {
	from := strings.Join(m.From, ", ")
	switch m.What {
	case "current_approvers":
		return fmt.Sprintf("%d more signature(s) of the current approvers (%d of %d so far) from: %s", m.Need-m.Have, m.Have, m.Need, from)
	case "resulting_approvers":
		return fmt.Sprintf("%d more signature(s) of the resulting approver set (%d of %d so far) from: %s", m.Need-m.Have, m.Have, m.Need, from)
	case "initial_approvers":
		return fmt.Sprintf("the signature of every initial approver (%d of %d so far) from: %s", m.Have, m.Need, from)
	case "owner":
		return "an owner's signature from: " + from
	case "self_signature":
		return fmt.Sprintf("the signature of %s itself (a new approver or recovery key proves it holds its key)", from)
	case "recovery_keys":
		return fmt.Sprintf("%d more signature(s) of the recovery keys (%d of %d so far) from: %s", m.Need-m.Have, m.Have, m.Need, from)
	}
	return m.What
}

// unsignOutput is what unsign prints.
type unsignOutput struct {
	File       string `json:"file"`
	PublicKey  string `json:"public_key"`            // of the signature removed
	ApproverID string `json:"approver_id,omitempty"` // when named with --key-id
	Signatures int    `json:"signatures"`            // left on the update
}

// runUnsign implements "membership unsign".
func runUnsign(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	keyID := fs.String("key-id", "", "remove the signature of the approver `ID`")
	pubFlag := fs.String("public-key", "", "remove the signature of the public key `BASE64`")
	lf := addLogFlags(fs)
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if (*keyID == "") == (*pubFlag == "") {
		return e.usagef("give one of --key-id and --public-key")
	}
	u, raw, err := readUpdate(pos[0])
	if err != nil {
		return err
	}
	o := unsignOutput{File: pos[0], ApproverID: *keyID}
	var pub membership.ApproverKey
	if *pubFlag != "" {
		if pub, err = parseApproverKey(*pubFlag); err != nil {
			return e.usagef("--public-key: %v", err)
		}
	} else if pub, err = e.approverKey(ctx, lf, u, *keyID); err != nil {
		return err
	}
	o.PublicKey = pub.String()
	i := slices.IndexFunc(u.Signatures, func(s membership.Signature) bool { return s.PublicKey == pub })
	if i < 0 {
		who := o.PublicKey
		if o.ApproverID != "" {
			who = fmt.Sprintf("%s (%s)", o.ApproverID, o.PublicKey)
		}
		return e.usagef("%s carries no signature of %s; nothing was written", pos[0], who)
	}
	u.Signatures = slices.Delete(u.Signatures, i, i+1)
	if err := rewriteFile(pos[0], raw, u.Encode()); err != nil {
		return err
	}
	o.Signatures = len(u.Signatures)
	if e.json {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "removed the signature of %s from %s (%d signature(s) now)\n", o.PublicKey, o.File, o.Signatures)
	return nil
}

// approverKey finds the key of the approver id for unsign: among the
// approvers u names itself (a genesis's, the one add_approver adds), else
// among those at the head of the log of lf.
func (e *env) approverKey(ctx context.Context, lf *logFlags, u *membership.SignedUpdate, id string) (membership.ApproverKey, error) {
	op := &u.Body.Operation
	for _, ap := range append(slices.Clone(op.Approvers), op.Approver) {
		if ap.ID == id {
			return ap.PublicKey, nil
		}
	}
	t, err := lf.loadIfAny(ctx, e)
	if err != nil {
		return membership.ApproverKey{}, err
	}
	if t == nil {
		return membership.ApproverKey{}, e.usagef("--key-id %s: the update names no such approver and no local daemon answers; give --from LOG|DIR to look it up, or --public-key", id)
	}
	defer t.close(ctx, true)
	if t.empty() {
		return membership.ApproverKey{}, e.usagef("--key-id %s: %s holds no membership yet", id, t.path)
	}
	ap, ok := t.state().ApproverByID(id)
	if !ok {
		return membership.ApproverKey{}, e.usagef("--key-id %s: no approver of that id at the head of %s", id, t.path)
	}
	return ap.PublicKey, nil
}
