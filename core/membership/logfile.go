package membership

import (
	"bytes"
	"encoding/json"
	"io"
)

// ParseLog decodes a portable log file: a JSON array of signed updates from
// genesis on, in order. A single signed update object (a signed genesis
// file) is accepted as a log of length one. It checks form only; Replay
// verifies.
func ParseLog(data []byte, l *Limits) ([]*SignedUpdate, error) {
	return parseLog(data, l, SchemaVersion)
}

// parseLog is ParseLog accepting schema versions 1 to maxVersion.
func parseLog(data []byte, l *Limits, maxVersion uint64) ([]*SignedUpdate, error) {
	l = limitsOrDefault(l)
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		u, err := parseSignedUpdate(data, l, maxVersion)
		if err != nil {
			return nil, err
		}
		return []*SignedUpdate{u}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, errorf(NonCanonical, "not a log file (a JSON array of signed updates)")
	}
	var log []*SignedUpdate
	for dec.More() {
		if len(log) >= l.MaxLogEntries {
			return nil, errorf(LimitExceeded, "the log has more than %d entries", l.MaxLogEntries)
		}
		var w wireEnvelope
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errorf(NonCanonical, "log entry %d: %s", len(log)+1, jsonProblem(err))
		}
		if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return nil, errorf(NonCanonical, "log entry %d: want a JSON object (a signed update)", len(log)+1)
		}
		// As in parseSignedUpdate: decode first, for errors by field.
		ed := json.NewDecoder(bytes.NewReader(raw))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&w); err != nil {
			return nil, errorf(NonCanonical, "log entry %d: %s", len(log)+1, jsonProblem(err))
		}
		if err := checkEnvelopeKeys(raw); err != nil {
			return nil, errorf(NonCanonical, "log entry %d: %s", len(log)+1, jsonProblem(err))
		}
		u, err := fromWire(&w, l, maxVersion, parseBody)
		if err != nil {
			return nil, prefixErr(err, "log entry %d: ", len(log)+1)
		}
		log = append(log, u)
	}
	if _, err := dec.Token(); err != nil {
		return nil, errorf(NonCanonical, "log file is truncated: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(NonCanonical, "trailing data after the log")
	}
	return log, nil
}

// EncodeLog returns the portable log file form of log.
func EncodeLog(log []*SignedUpdate) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i, u := range log {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.Write(bytes.TrimRight(u.Encode(), "\n"))
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}
