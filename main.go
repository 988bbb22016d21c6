// Command kalamdash is a terminal dashboard for live KalamDB connections:
// interactive connection debugging, raw frame inspection and manual token
// rotation testing. With no arguments it opens the dashboard on an embedded
// KalamDB-compatible demo server.
package main

import (
	"os"

	"github.com/kalamdash/kalamdash/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
