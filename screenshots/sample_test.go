package screenshots_test

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// sampleScreen builds a busy dashboard-like screen: borders, true-colour
// text, a selected row, sparklines and JSON, cols×rows cells.
func sampleScreen(cols, rows int) string {
	var b strings.Builder
	line := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ansi.Truncate(s, cols, ""))
	}
	line("\x1b[1;38;2;122;162;247m kalamdash \x1b[0m\x1b[38;2;86;95;137m│ demo ● connected │ ws://127.0.0.1:8080 \x1b[0m")
	line("╭" + strings.Repeat("─", cols-2) + "╮")
	for i := 0; b.Len() >= 0 && i < rows-4; i++ {
		var row string
		switch {
		case i%7 == 3:
			row = fmt.Sprintf("\x1b[7m %02d:00:%02d ← text  change    sub-%d  %5d B \x1b[0m", i, i, i%3, 100+i*13)
		case i%5 == 0:
			row = fmt.Sprintf(" \x1b[38;2;158;206;106m{\"type\":\"change\",\"seq\":%d}\x1b[0m \x1b[2mgzip\x1b[0m ⣿⣷⣦⣄⡀ ▁▂▃▅▇█▇▅", i)
		default:
			row = fmt.Sprintf(" %02d:00:%02d \x1b[38;5;%dm→ binary\x1b[0m initial_data_batch  \x1b[3msub-%d\x1b[0m", i, i, 16+i*7%200, i%4)
		}
		pad := cols - 2 - ansi.StringWidth(row)
		if pad < 0 {
			row, pad = ansi.Truncate(row, cols-2, ""), 0
		}
		line("│" + row + strings.Repeat(" ", pad) + "│")
	}
	line("╰" + strings.Repeat("─", cols-2) + "╯")
	line("\x1b[48;2;41;46;66m ? help  / filter  c compression  r refresh  q quit \x1b[0m")
	return b.String()
}
