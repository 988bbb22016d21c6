package screenshots

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// sanitize prepares captured text for the emulator:
//
//   - a bare "\n" becomes "\r\n": captures and View() output rely on the
//     tty's newline translation, which the emulator does not do;
//   - one final newline is dropped, or a full-height capture would scroll
//     the first row away;
//   - sequences that make the emulator answer (device attributes, status and
//     mode reports, colour queries, in-band resize) and all string sequences
//     (OSC, DCS, APC, PM, SOS: titles, hyperlinks, clipboard) are removed.
//     Nothing reads the emulator's reply pipe, so an answer would block.
func sanitize(s string) string {
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	var b strings.Builder
	b.Grow(len(s) + len(s)/16)
	p := ansi.NewParser()
	var state byte
	for len(s) > 0 {
		seq, _, n, next := ansi.DecodeSequence(s, state, p)
		if n <= 0 { // cannot happen per the decoder's contract; never loop forever
			n = 1
			seq = s[:1]
		}
		state = next
		s = s[n:]
		if keep(seq, p) {
			if seq == "\n" {
				seq = "\r\n"
			}
			b.WriteString(seq)
		}
	}
	return b.String()
}

// keep reports whether a decoded sequence is safe and useful to replay.
func keep(seq string, p *ansi.Parser) bool {
	switch {
	case ansi.HasCsiPrefix(seq):
		cmd := ansi.Cmd(p.Command())
		switch cmd.Final() {
		case 'c', 'n': // DA1/DA2/DA3, DSR/CPR
			return false
		case 'p':
			return cmd.Intermediate() != '$' // DECRQM
		case 'h', 'l':
			for _, prm := range p.Params() {
				if prm.Param(0) == 2048 { // in-band resize reports at once
					return false
				}
			}
		}
		return true
	case ansi.HasOscPrefix(seq), ansi.HasDcsPrefix(seq), ansi.HasApcPrefix(seq),
		ansi.HasPmPrefix(seq), ansi.HasSosPrefix(seq):
		return false
	case ansi.HasEscPrefix(seq) && len(seq) == 2 && seq[1] == 'Z': // DECID
		return false
	case seq == "\x9b" || seq == "\x9d" || seq == "\x90": // stray C1 introducers
		return false
	}
	return true
}
