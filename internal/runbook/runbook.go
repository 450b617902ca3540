// Package runbook reads the operational runbooks (docs/operations/*.md)
// as the drills execute them: the runbook's text is the source of truth,
// and a drill runs exactly the command blocks it holds.
//
// A command block is a fenced code block whose info string is "sh"
// followed by attributes:
//
//	```sh on=approver id=sign
//	rustynet membership sign-update --key "$APPROVER_KEY" revoke.json
//	```
//
// on= says where the commands run, and must be one of Wheres: the
// coordinator's machine (which holds the signed log and publishes it),
// each signing approver in turn, the node the runbook is about, every
// other node (its peers), or every node. id= names the block for the
// drill's own checks; expect=fail marks a block whose commands must fail
// (a refusal the runbook shows), and expect=CODE one that must fail with
// that error code (its output holds "error: CODE:"); service=stop|start marks a block that
// stops or starts the node's service, which a drill performs with its own
// process control (there is no service manager in CI). Every "sh" block
// must say on=; blocks in other languages ("text", "toml", none) are not
// executed.
package runbook

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Wheres are the places a block may run.
var Wheres = []string{"coordinator", "approver", "node", "peers", "every-node"}

// Block is one command block.
type Block struct {
	// Section is the heading the block is under ("3. Push the revocation
	// to every node").
	Section string
	Where   string
	ID      string
	// ExpectFail: the commands must fail; with ExpectCode, with that
	// error code.
	ExpectFail bool
	ExpectCode string
	// Service is "stop" or "start" for a service block, else "".
	Service string
	Script  string
	Line    int // of the opening fence, 1-based
}

// Runbook is a parsed runbook.
type Runbook struct {
	Title  string // the first level-1 heading
	Blocks []Block
}

// Parse reads a runbook. It fails on an "sh" block without a valid on=,
// an unknown attribute, a duplicate id, or an unterminated fence.
func Parse(md []byte) (*Runbook, error) {
	rb := &Runbook{}
	sc := bufio.NewScanner(bytes.NewReader(md))
	section := ""
	ids := map[string]bool{}
	var cur *Block
	var body []string
	fence, indent := "", ""
	inOther := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur != nil || inOther {
			if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(trimmed) == fence {
				if cur != nil {
					cur.Script = strings.Join(body, "\n") + "\n"
					rb.Blocks = append(rb.Blocks, *cur)
				}
				cur, inOther, body = nil, false, nil
				continue
			}
			if cur != nil {
				body = append(body, strings.TrimPrefix(line, indent))
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			fence = "```"
			indent = line[:len(line)-len(trimmed)]
			info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
			if len(info) == 0 || info[0] != "sh" {
				inOther = true
				continue
			}
			b, err := parseInfo(info[1:], n, section)
			if err != nil {
				return nil, err
			}
			if b.ID != "" {
				if ids[b.ID] {
					return nil, fmt.Errorf("line %d: id=%s used twice", n, b.ID)
				}
				ids[b.ID] = true
			}
			cur = b
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok {
			level := 1 + len(h) - len(strings.TrimLeft(h, "#"))
			text := strings.TrimSpace(strings.TrimLeft(h, "#"))
			if level == 1 && rb.Title == "" {
				rb.Title = text
			}
			section = text
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil || inOther {
		return nil, fmt.Errorf("a code block is not closed")
	}
	return rb, nil
}

func parseInfo(attrs []string, line int, section string) (*Block, error) {
	b := &Block{Section: section, Line: line}
	for _, a := range attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: attribute %q: want key=value", line, a)
		}
		switch k {
		case "on":
			if !slices.Contains(Wheres, v) {
				return nil, fmt.Errorf("line %d: on=%s: want one of %v", line, v, Wheres)
			}
			b.Where = v
		case "id":
			b.ID = v
		case "expect":
			switch {
			case v == "fail":
			case v != "" && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == "":
				b.ExpectCode = v
			default:
				return nil, fmt.Errorf("line %d: expect=%s: want expect=fail or expect=CODE (an error code)", line, v)
			}
			b.ExpectFail = true
		case "service":
			if v != "stop" && v != "start" {
				return nil, fmt.Errorf("line %d: service=%s: want stop or start", line, v)
			}
			b.Service = v
		default:
			return nil, fmt.Errorf("line %d: unknown attribute %q", line, k)
		}
	}
	if b.Where == "" {
		return nil, fmt.Errorf("line %d: an sh block must say where it runs (on=%s)", line, strings.Join(Wheres, "|"))
	}
	if b.Service != "" && b.Where != "node" && b.Where != "every-node" && b.Where != "peers" {
		return nil, fmt.Errorf("line %d: service=%s runs on a node, not on=%s", line, b.Service, b.Where)
	}
	return b, nil
}
