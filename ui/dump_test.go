package ui

import (
	"os"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestDumpScreens writes stripped screens to $KD_DUMP for eyeballing.
func TestDumpScreens(t *testing.T) {
	dir := os.Getenv("KD_DUMP")
	if dir == "" {
		t.Skip("set KD_DUMP=dir to dump screens")
	}
	for _, size := range [][2]int{{80, 24}, {120, 36}, {160, 48}} {
		for _, s := range Screens(size[0], size[1]) {
			name := dir + "/" + s.Name + "-" + itoa(size[0]) + ".txt"
			os.WriteFile(name, []byte(ansi.Strip(s.ANSI)), 0o644)
			os.WriteFile(name+".ansi", []byte(s.ANSI), 0o644)
		}
	}
}

func itoa(n int) string {
	return string(rune('0'+n/100)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}
