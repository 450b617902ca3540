package evidence

import (
	"regexp"
	"strings"
)

// Import paths the membership reports read.
const (
	modPath       = "github.com/rustynet/rustynet/"
	pkgMembership = modPath + "core/membership"
	pkgLedger     = modPath + "core/ledger"
	pkgDaemon     = modPath + "core/daemon"
	pkgAudit      = modPath + "core/audit"
	pkgCLI        = modPath + "cmd/rustynet"
	pkgE2E        = modPath + "e2e"
)

// Suite is a named group of tests: those of Package whose top-level name
// matches Pattern (and that no earlier suite of the same report claimed).
type Suite struct {
	Name    string
	Package string
	Pattern *regexp.Regexp
}

// ConformanceSuites are the suites of membership_conformance_report.json:
// every test of core/membership falls in exactly one (the reducer suite
// takes what the others do not).
var ConformanceSuites = []Suite{
	{"golden vectors", pkgMembership, regexp.MustCompile(`^(TestGolden|TestV1VerifierRefusesV2$)`)},
	{"schema and canonical encoding", pkgMembership, regexp.MustCompile(
		`^(TestCanonical|TestDecode|TestParse|TestListOrder$|TestJCS|TestSchemaVersionRule$|TestPolicyDecode|TestPolicySpellings$|` +
			`TestPolicyParseLimit$|TestTamperedBody$|TestNetworkBinding$|FuzzParse)`)},
	{"threshold and signatures", pkgMembership, regexp.MustCompile(
		`^(TestSignatureCounting$|TestRemovedApproverSignature$|TestGovernance|TestGenesisRules$|TestSetPolicyAuthorization$|` +
			`TestPrecheck|TestReplayFindsAForgedSignature|TestSmallOrder)`)},
	{"reducer", pkgMembership, regexp.MustCompile(`.`)},
}

// CaseSpec names tests that check one threat: Test is a test's full name
// or a prefix of subtests (a test matches it if its name equals Test or
// starts with Test + "/"). Tests that log their cases (Case) report the
// codes themselves; for the others Expected is the code the test asserts.
type CaseSpec struct {
	Package  string
	Test     string
	Expected string
	// Whole: the test (and its subtests) is one case, whatever cases it
	// logs (for a row that the test's outcome, not a code, decides).
	Whole bool
}

// ThreatRow is one row of the seed's threat-driven test matrix
// (000_b4b6481d6f7819a3.txt §6) and the tests that cover it.
type ThreatRow struct {
	Row      int
	Threat   string
	Expected string
	Specs    []CaseSpec
}

// ThreatMatrix maps every row of the seed's matrix (and the ABA replay of
// SPEC §3) to the tests that check it, at the engine, the daemon and real
// daemons.
var ThreatMatrix = []ThreatRow{
	{1, "forged signature on a valid-looking update", "reject, no state mutation", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/1_forged_signature", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/forged_signature", "BAD_SIGNATURE", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/forged_signature", "", false},
	}},
	{2, "under-threshold signer set", "reject, alert/audit event", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/2_under_threshold", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/under_threshold", "THRESHOLD_NOT_MET", false},
		{pkgDaemon, "TestAuditRecordsAcceptsRejectsAndStops", "", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/under_threshold", "", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/outsider_co-signs", "", false},
	}},
	{3, "replayed old valid update", "reject by epoch, root, update id or watermark", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/3_replayed_old_valid_update", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/an_applied_update's_id_on_another_body", "REPLAYED_UPDATE", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/replay_of_an_applied_update", "", false},
	}},
	{4, "rollback to an older snapshot", "integrity mismatch, fail closed", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/4_rollback_to_an_older_root", "", false},
		{pkgLedger, "TestTamperDetected", "INTEGRITY_FAILURE", false},
		{pkgDaemon, "TestRestrictedModeAtStartHasNoPeers", "RESTRICTED_MODE", false},
		{pkgCLI, "TestStateDirRollback", "INTEGRITY_FAILURE", false},
		{pkgE2E, "TestRollbackOfStateDirIsRestricted", "INTEGRITY_FAILURE", false},
	}},
	{5, "conflicting same-epoch updates", "one accepted by chain continuity; a second quorum-signed one is evidence of a fork (FORKED, docs/forks.md), one without a quorum is rejected", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/5_conflicting_same-epoch_updates", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/conflicting_same-epoch_update_under_the_threshold", "STALE_EPOCH", false},
		{pkgDaemon, "TestForkShrinksToTheFloor", "FORKED", false},
		{pkgE2E, "TestForkSameOutcomeInEveryOrder", "FORKED", false},
	}},
	{6, "compromised node re-adds itself without quorum", "reject", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/6_revoked_node_re-adds_itself_without_quorum", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/revoked_node_re-adds_itself", "UNKNOWN_SIGNER", false},
		{pkgE2E, "TestRevokedNodeIsCutOff", "UNKNOWN_SIGNER", false},
	}},
	{7, "revoked node attempts a data-plane reconnect", "deny, remove its runtime intents", []CaseSpec{
		{pkgDaemon, "TestUpdatesChangeOnlyWhatTheyNameAndRevokeRemoves", "peer removed", true},
		{pkgDaemon, "TestRevokedSelfIsIsolated", "no peers", true},
		{pkgE2E, "TestRevokedNodeIsCutOff", "peer removed, traffic refused", true},
	}},
	{8, "time skew beyond policy", "deny trust-required apply", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/8_time_skew", "", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/clock_skew", "NOT_YET_VALID", false},
		{pkgDaemon, "TestThreatsRejectedDataPlaneUnchanged/expired_update", "EXPIRED", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/created_beyond_the_clock_skew", "", false},
		{pkgE2E, "TestRejectedUpdatesLeaveDataPlaneUnchanged/expired", "", false},
	}},
	{9, "ABA: add X, remove X, replay the add (SPEC §3)", "reject: roots never repeat", []CaseSpec{
		{pkgMembership, "TestThreatMatrix/ABA_add_X,_remove_X,_replay_the_add", "", false},
		{pkgMembership, "TestRootsNeverRepeat", "no root repeats", true},
	}},
}

// RecoverySections are the test groups of membership_recovery_report.json
// (its drills come from the drills' evidence).
var RecoverySections = []struct {
	Name  string
	Specs []CaseSpec
}{
	{"restricted-safe mode", []CaseSpec{
		{pkgLedger, "TestTamperDetected", "", false},
		{pkgLedger, "TestPinnedGenesisMismatchIsRestricted", "", false},
		{pkgLedger, "TestRestrictedPrefixKeepsEntriesBeforeTheDamage", "", false},
		{pkgDaemon, "TestRestrictedModeAtStartHasNoPeers", "", false},
		{pkgE2E, "TestRollbackOfStateDirIsRestricted", "", false},
	}},
	{"restore", []CaseSpec{
		{pkgLedger, "TestRestoreRecovers", "", false},
		{pkgCLI, "TestStateDirRollback", "", false},
		{pkgDaemon, "TestAuditRecordsRestrictedModeAndRecovery", "", false},
	}},
	{"audit trail", []CaseSpec{
		{pkgAudit, "TestVerifyCatchesTampering", "", false},
		{pkgAudit, "TestRotationKeepsTheChainVerifiable", "", false},
		{pkgAudit, "TestFailingWritesAreCountedAndTheLogRecovers", "", false},
		{pkgAudit, "TestAFullQueueNeverBlocksAndTheLossIsRecorded", "", false},
		{pkgCLI, "TestAuditShowAndVerify", "", false},
	}},
}

// matches reports whether the test named name is spec's test or one of
// its subtests.
func (s CaseSpec) matches(pkg, name string) bool {
	return pkg == s.Package && (name == s.Test || strings.HasPrefix(name, s.Test+"/"))
}

// topLevel returns the top-level test of a (sub)test name.
func topLevel(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return top
}
