package cli

import (
	"fmt"
	"path/filepath"

	"github.com/ignigen/ignigen/internal/matchbox"
	"github.com/ignigen/ignigen/internal/output"
)

func runExport(env *Env, args []string) int {
	fs := flags("export")
	from := fs.String("from", "out", "build output directory to export")
	url := fs.String("url", "", "URL machines reach matchbox at, e.g. http://matchbox.lan:8080 (required: it goes into ignition.config.url)")
	pos, code, done := parse(env, fs, "export", args, 2)
	if done {
		return code
	}
	if pos[0] != "matchbox" {
		fmt.Fprintf(env.Stderr, "ignigen export: unknown format %q; use `ignigen export matchbox DIR --url URL`\n", pos[0])
		return ExitUsage
	}
	if *url == "" {
		fmt.Fprintln(env.Stderr, "ignigen export matchbox: --url is required: the address machines reach matchbox at, e.g. http://matchbox.lan:8080")
		return ExitUsage
	}
	files, skipped, err := matchbox.Export(*from, *url)
	if err == nil {
		err = output.Replace(pos[1], files)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen export matchbox: %v\n", err)
		return ExitFailed
	}
	for _, n := range skipped {
		fmt.Fprintf(env.Stderr, "warning: node %s has no MAC in the topology: matchbox cannot select it, skipped\n", n)
	}
	fmt.Fprintf(env.Stdout, "wrote %d matchbox file(s) under %s (profiles/, groups/, ignition/); run matchbox with -data-path %s\n",
		len(files), pos[1], filepath.Clean(pos[1]))
	return ExitOK
}
