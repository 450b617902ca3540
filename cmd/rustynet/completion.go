package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

func completionCommand() *command {
	return &command{
		name:    "completion",
		args:    "bash|zsh|fish|powershell",
		summary: "print a shell completion script for this command tree",
		help: "Completes commands, their flags, and file names for flag values and\n" +
			"arguments. Load it for the current shell, or install it:\n\n" +
			"  bash:        source <(rustynet completion bash)\n" +
			"               rustynet completion bash > /etc/bash_completion.d/rustynet\n" +
			"  zsh:         source <(rustynet completion zsh)   (after compinit)\n" +
			"               rustynet completion zsh > \"${fpath[1]}/_rustynet\"\n" +
			"  fish:        rustynet completion fish | source\n" +
			"               rustynet completion fish > ~/.config/fish/completions/rustynet.fish\n" +
			"  powershell:  rustynet completion powershell | Out-String | Invoke-Expression\n" +
			"               (add that line to $PROFILE to keep it)",
		noJSON: "a completion script is shell code",
		run:    runCompletion,
	}
}

// completionShells are the shells completion writes for, each with its
// writer.
var completionShells = []struct {
	name  string
	write func(io.Writer, []completionEntry)
}{
	{"bash", writeBash},
	{"zsh", writeZsh},
	{"fish", writeFish},
	{"powershell", writePowerShell},
}

func runCompletion(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	for _, sh := range completionShells {
		if sh.name == pos[0] {
			sh.write(e.stdout, completionEntries(rootCommand()))
			return nil
		}
	}
	return e.usagef("unknown shell %q: want bash, zsh, fish or powershell", pos[0])
}

// completionEntry is what every script knows of one command: the words
// that may follow it.
type completionEntry struct {
	path string // full name, "rustynet membership init"
	// subs are a group's subcommands and "help"; empty for a leaf, whose
	// arguments complete as file names.
	subs []string
	// flags are every flag, spelt --name; values those of them that take
	// a value (completed as a file name).
	flags, values []string
}

// completionEntries describes the listed commands of the tree at root.
func completionEntries(root *command) []completionEntry {
	var out []completionEntry
	for _, c := range commandInfos(root, false) {
		en := completionEntry{path: c.path, flags: []string{"--help"}}
		if c.cmd.run == nil {
			en.subs = append(slices.Clone(c.subs), "help")
		}
		for _, f := range c.flags {
			en.flags = append(en.flags, "--"+f.Name)
			if takesValue(f) {
				en.values = append(en.values, "--"+f.Name)
			}
		}
		slices.Sort(en.flags)
		out = append(out, en)
	}
	return out
}

// The scripts share one algorithm, written once per shell: walk the words
// before the cursor from "rustynet", descending into each subcommand
// named (not "help") and skipping the value of each flag that takes
// one; then offer the value of such a flag as a file name, flags for a
// word that starts with "-", else the subcommands, or file names for a
// leaf's arguments. A flag is looked up as --name however it was typed
// (-name, --name). The tables are one function per script,
// `_rustynet_words PATH KIND` (KIND subs, flags or values), a case per
// command.

// shellTable writes the case arms of _rustynet_words: one line per
// command and kind that has words, as arm formats it.
func shellTable(w io.Writer, entries []completionEntry, arm func(key, words string) string) {
	for _, en := range entries {
		for _, k := range []struct {
			kind  string
			words []string
		}{{"subs", en.subs}, {"flags", en.flags}, {"values", en.values}} {
			if len(k.words) > 0 {
				fmt.Fprint(w, arm(en.path+"/"+k.kind, strings.Join(k.words, " ")))
			}
		}
	}
}

func writeBash(w io.Writer, entries []completionEntry) {
	io.WriteString(w, `# bash completion for rustynet, made by `+"`rustynet completion bash`"+` from its command tree.
# Load it in this shell:  source <(rustynet completion bash)
# or install it:          rustynet completion bash > /etc/bash_completion.d/rustynet

# _rustynet_words PATH KIND prints the words of KIND (subs, flags, values)
# of the command PATH ("rustynet membership init").
_rustynet_words() {
	case "$1/$2" in
`)
	shellTable(w, entries, func(key, words string) string {
		return fmt.Sprintf("\t%s) echo %s ;;\n", shellQuote(key), shellQuote(words))
	})
	io.WriteString(w, `	esac
}

_rustynet() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=rustynet word flag skip= i
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ -n $skip ]]; then
			skip=
			continue
		fi
		case $word in
		-*=*) ;;
		-*)
			flag=${word#-}
			flag=--${flag#-}
			if [[ " $(_rustynet_words "$cmd" values) " == *" $flag "* ]]; then skip=1; fi
			;;
		*)
			if [[ $word != help && " $(_rustynet_words "$cmd" subs) " == *" $word "* ]]; then cmd="$cmd $word"; fi
			;;
		esac
	done
	local IFS=$'\n' subs
	if [[ -z $skip && $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_rustynet_words "$cmd" flags | tr ' ' '\n')" -- "$cur"))
		return
	fi
	subs=$(_rustynet_words "$cmd" subs)
	if [[ -z $skip && -n $subs ]]; then
		COMPREPLY=($(compgen -W "$(echo "$subs" | tr ' ' '\n')" -- "$cur"))
		return
	fi
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

complete -F _rustynet rustynet
`)
}

func writeZsh(w io.Writer, entries []completionEntry) {
	io.WriteString(w, `#compdef rustynet
# zsh completion for rustynet, made by `+"`rustynet completion zsh`"+` from its command tree.
# Load it in this shell:  source <(rustynet completion zsh)    (after compinit)
# or install it:          rustynet completion zsh > "${fpath[1]}/_rustynet"

# _rustynet_words PATH KIND prints the words of KIND (subs, flags, values)
# of the command PATH ("rustynet membership init").
_rustynet_words() {
	case "$1/$2" in
`)
	shellTable(w, entries, func(key, words string) string {
		return fmt.Sprintf("\t(%s) print -r -- %s ;;\n", shellQuote(key), shellQuote(words))
	})
	io.WriteString(w, `	esac
}

_rustynet() {
	local cmd=rustynet word flag skip= i subs
	for ((i = 2; i < CURRENT; i++)); do
		word=${words[i]}
		if [[ -n $skip ]]; then
			skip=
			continue
		fi
		case $word in
		(-*=*) ;;
		(-*)
			flag=${word#-}
			flag=--${flag#-}
			if [[ " $(_rustynet_words "$cmd" values) " == *" $flag "* ]]; then skip=1; fi
			;;
		(*)
			if [[ $word != help && " $(_rustynet_words "$cmd" subs) " == *" $word "* ]]; then cmd="$cmd $word"; fi
			;;
		esac
	done
	if [[ -z $skip && ${words[CURRENT]} == -* ]]; then
		subs=$(_rustynet_words "$cmd" flags)
		compadd -- ${=subs}
		return
	fi
	subs=$(_rustynet_words "$cmd" subs)
	if [[ -z $skip && -n $subs ]]; then
		compadd -- ${=subs}
		return
	fi
	_files
}

# Loaded from $fpath this file is the body of _rustynet: run it. Sourced,
# it registers _rustynet.
if [[ ${funcstack[1]} == _rustynet ]]; then
	_rustynet "$@"
else
	compdef _rustynet rustynet
fi
`)
}

func writeFish(w io.Writer, entries []completionEntry) {
	io.WriteString(w, `# fish completion for rustynet, made by `+"`rustynet completion fish`"+` from its command tree.
# Load it in this shell:  rustynet completion fish | source
# or install it:          rustynet completion fish > ~/.config/fish/completions/rustynet.fish

# __rustynet_words PATH KIND prints the words of KIND (subs, flags, values)
# of the command PATH ("rustynet membership init"), one a line.
function __rustynet_words --argument-names cmd kind
    switch "$cmd/$kind"
`)
	shellTable(w, entries, func(key, words string) string {
		return fmt.Sprintf("        case %s\n            printf '%%s\\n' %s\n", shellQuote(key), words)
	})
	io.WriteString(w, `    end
end

function __rustynet_complete
    set -l cmd rustynet
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '-*=*'
            case '-*'
                set -l flag --(string replace -r -- '^--?' '' $word)
                if contains -- $flag (__rustynet_words $cmd values)
                    set skip 1
                end
            case '*'
                if test $word != help; and contains -- $word (__rustynet_words $cmd subs)
                    set cmd "$cmd $word"
                end
        end
    end
    set -l cur (commandline -ct)
    if test $skip = 0; and string match -q -- '-*' $cur
        __rustynet_words $cmd flags
        return
    end
    set -l subs (__rustynet_words $cmd subs)
    if test $skip = 0; and test (count $subs) -gt 0
        printf '%s\n' $subs
        return
    end
    __fish_complete_path $cur
end

complete -c rustynet -f -a '(__rustynet_complete)'
`)
}

func writePowerShell(w io.Writer, entries []completionEntry) {
	io.WriteString(w, `# PowerShell completion for rustynet, made by `+"`rustynet completion powershell`"+` from its command tree.
# Load it in this session:  rustynet completion powershell | Out-String | Invoke-Expression
# (add that line to $PROFILE to keep it)

Register-ArgumentCompleter -Native -CommandName rustynet, rustynet.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    # The words of each kind (subs, flags, values) of each command.
    $table = @{
`)
	shellTable(w, entries, func(key, words string) string {
		return fmt.Sprintf("        %s = @(%s)\n", psQuote(key), psList(strings.Fields(words)))
	})
	io.WriteString(w, `    }
    $words = @($commandAst.CommandElements | Where-Object { $_.Extent.StartOffset -lt $cursorPosition } | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '' -and $words.Count -gt 0) { $words = @($words | Select-Object -SkipLast 1) }
    $cmd = 'rustynet'
    $skip = $false
    foreach ($word in @($words | Select-Object -Skip 1)) {
        if ($skip) { $skip = $false; continue }
        if ($word -like '-*=*') { continue }
        if ($word -like '-*') {
            if (@($table["$cmd/values"]) -contains ('--' + $word.TrimStart('-'))) { $skip = $true }
            continue
        }
        if ($word -ne 'help' -and @($table["$cmd/subs"]) -contains $word) { $cmd = "$cmd $word" }
    }
    # A flag's value and a leaf's arguments are file names: PowerShell
    # completes paths when the completer offers nothing.
    if ($skip) { return }
    if ($wordToComplete -like '-*') { $candidates = $table["$cmd/flags"] } else { $candidates = $table["$cmd/subs"] }
    @($candidates) | Where-Object { $_ -and $_ -like "$wordToComplete*" } | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`)
}

// shellQuote quotes s for sh, zsh and fish: single quotes, each single
// quote in s closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote quotes s for PowerShell: single quotes, doubled inside.
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// psList formats words as the items of a PowerShell array.
func psList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = psQuote(w)
	}
	return strings.Join(q, ", ")
}
