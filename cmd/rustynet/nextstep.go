package main

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// The next step after a verdict on an update that does not follow the
// head of the log it was checked against: apply-update, verify-update and
// sign-update --from give it as their hint, verify-update's report as its
// "next step".
const (
	staleNextStep = "propose the change again against the new head (`rustynet membership propose-… --from LOG`) " +
		"and collect the signatures again: an update is signed for one epoch only"
	futureNextStep = "apply the updates before it first, in order, or check it against a log that has them " +
		"(`rustynet membership export` on a node that is up to date)"
)

// nextStep returns what to do about a verdict of code on an update, or ""
// if there is nothing more to say than the verdict.
func nextStep(code membership.Code) string {
	switch code {
	case membership.StaleEpoch:
		return staleNextStep
	case membership.FutureEpoch:
		return futureNextStep
	}
	return ""
}

// withNextStep adds the next step for its code (nextStep) as the hint of
// err, the CLI's report of a verdict on an update; an error that has a
// hint already keeps it.
func withNextStep(err error) error {
	var ce *cliError
	if !errors.As(err, &ce) || ce.hint != "" {
		return err
	}
	if s := nextStep(membership.Code(ce.code)); s != "" {
		ce.hint = hintPrefix + s
	}
	return err
}

// whyEpoch explains a STALE_EPOCH or FUTURE_EPOCH verdict on u against the
// log t: which update already holds u's epoch, or which epochs are
// missing. It returns "" for other verdicts or without a log.
func whyEpoch(t *trustedLog, u *membership.SignedUpdate, code membership.Code) string {
	if t == nil || t.empty() {
		return ""
	}
	head := t.entries[len(t.entries)-1].Body.Epoch
	epoch := u.Body.Epoch
	switch code {
	case membership.StaleEpoch:
		for _, h := range t.entries {
			if h.Body.Epoch == epoch {
				return fmt.Sprintf("epoch %d of %s is already update %s (%s), applied since this update was proposed; the head is now epoch %d",
					epoch, t.path, hex.EncodeToString(h.Body.UpdateID[:]), h.Body.Operation.Type, head)
			}
		}
		return fmt.Sprintf("%s is already at epoch %d, past this update's epoch %d", t.path, head, epoch)
	case membership.FutureEpoch:
		if epoch == head+2 {
			return fmt.Sprintf("%s ends at epoch %d: the update of epoch %d is missing here", t.path, head, head+1)
		}
		return fmt.Sprintf("%s ends at epoch %d: the updates of epochs %d to %d are missing here", t.path, head, head+1, epoch-1)
	}
	return ""
}
