// Command adpacer is the adpacer daemon and its operator tools: run the
// daemon, validate and print the configuration, migrate the store, and
// generate shell completions and man pages. See README.md.
package main

import (
	"context"
	"os"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/adpacer
//
// Unstamped builds fall back to the module version from the build info.
var version = ""

func main() {
	a := newApp(os.Stdin, os.Stdout, os.Stderr, defaultWiring())
	os.Exit(a.execute(context.Background(), os.Args[1:]))
}
