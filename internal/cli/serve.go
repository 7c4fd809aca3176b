package cli

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/ignigen/ignigen/internal/serve"
)

func runServe(env *Env, args []string) int {
	fs := flags("serve")
	dir := fs.StringP("output", "o", "out", "build output directory to serve")
	listen := fs.String("listen", ":8080", "address to listen on")
	assets := fs.String("assets", "", "directory served under /assets/ (PXE kernel and initramfs for pxe.kernelURL paths)")
	cert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM); needs --tls-key")
	key := fs.String("tls-key", "", "private key for --tls-cert (PEM)")
	once := fs.Bool("one-time", true, "serve each control-plane config (it holds the CA keys) at most once per build; record in DIR.delivered.json")
	rearm := fs.StringArray("rearm", nil, "let control-plane NODE fetch its config once more, then exit (a running serve sees it at once); repeatable")
	every := fs.Duration("reload-interval", 2*time.Second, "how often to check DIR/manifest.json for a new build; 0: never (restart to serve a new build)")
	if _, code, done := parse(env, fs, "serve", args, 0); done {
		return code
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(env.Stderr, "ignigen serve: --tls-cert and --tls-key go together")
		return ExitUsage
	}
	if len(*rearm) > 0 && !*once {
		fmt.Fprintln(env.Stderr, "ignigen serve: --rearm needs one-time delivery (drop --one-time=false)")
		return ExitUsage
	}
	s, err := serve.New(serve.Options{Dir: *dir, AssetsDir: *assets, Log: env.Stderr, Now: env.Now, OneTime: *once})
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen serve: %v\n", err)
		return ExitFailed
	}
	if len(*rearm) > 0 {
		msg, err := s.Rearm(*rearm)
		if err != nil {
			fmt.Fprintf(env.Stderr, "ignigen serve: --rearm: %v\n", err)
			return ExitFailed
		}
		fmt.Fprintf(env.Stderr, "ignigen serve: %s; %s\n", msg, s.DeliveryStatus())
		return ExitOK
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen serve: %v\n", err)
		return ExitFailed
	}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	reload := fmt.Sprintf("re-reads %s when manifest.json changes (every %s)", *dir, *every)
	if *every <= 0 {
		reload = fmt.Sprintf("does NOT re-read %s: restart after each build", *dir)
	}
	fmt.Fprintf(env.Stderr, "ignigen serve: %d node(s) from %s on %s://%s; %s\n", s.Nodes(), *dir, scheme, ln.Addr(), reload)
	fmt.Fprintf(env.Stderr, "ignigen serve: %s\n", s.DeliveryStatus())
	fmt.Fprintf(env.Stderr, "ignigen serve: point iPXE at  chain %s://SERVER%s/ipxe?mac=${mac:hexhyp}\n", scheme, portOf(ln.Addr()))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx, ln, *cert, *key, *every); err != nil {
		fmt.Fprintf(env.Stderr, "ignigen serve: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprintf(":%d", t.Port)
	}
	return ""
}
