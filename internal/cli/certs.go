package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
)

// DefaultCertMargin is how early `ignigen certs` complains: the nodes' renew-certs timer renews
// kubeadm's certificates at the same margin.
const DefaultCertMargin = "90d"

// certRow is one certificate whose expiry `ignigen certs` reports.
type certRow struct {
	name, source string
	notAfter     time.Time
	err          error  // the certificate could not be read or verified
	hint         string // what to do when it is inside the margin
}

// runCerts reports when the certificates an operator depends on expire: the bundle's CAs and
// admin certificate, the admin kubeconfig's client certificate and, with --server, the serving
// certificate of a live API server. It exits 1 when one is inside the margin (or unreadable).
func runCerts(env *Env, args []string) int {
	fs := flags("certs")
	outDir := fs.StringP("output", "o", "out", "build directory: its secrets.yaml and admin.kubeconfig")
	secretsPath := fs.String("secrets", "", "secrets bundle (default: DIR/secrets.yaml)")
	server := fs.String("server", "", "also check the serving certificate of this API server (https://HOST:PORT), verified with the bundle's CA")
	marginFlag := fs.String("margin", DefaultCertMargin, "fail when a certificate expires within this long (90d, 720h)")
	_, code, done := parse(env, fs, "certs", args, 0)
	if done {
		return code
	}
	margin, err := parseMargin(*marginFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen certs: --margin %q: %v\n", *marginFlag, err)
		return ExitUsage
	}
	bundlePath := *secretsPath
	if bundlePath == "" {
		bundlePath = filepath.Join(*outDir, SecretsFile)
	}
	// Decode, not Load: an expired bundle is exactly what this command must be able to show.
	data, err := os.ReadFile(bundlePath)
	var b *secrets.Bundle
	if err == nil {
		b, err = secrets.Decode(data)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen certs: secrets bundle %s: %v\n", bundlePath, err)
		return ExitFailed
	}
	rows := bundleRows(b, bundlePath)
	kcPath := filepath.Join(*outDir, build.KubeconfigFile)
	switch row, err := kubeconfigRow(kcPath); {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(env.Stderr, "note: %s does not exist: its client certificate is not checked\n", kcPath)
	default:
		rows = append(rows, row)
	}
	if *server != "" {
		rows = append(rows, serverRow(*server, b, env.Now))
	}
	return printCerts(env, rows, env.Now(), margin)
}

// parseMargin reads a duration that may be given in days ("90d"), as operators count them.
func parseMargin(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a non-negative number of days (90d) or a duration (720h)")
	}
	return d, nil
}

func bundleRows(b *secrets.Bundle, path string) []certRow {
	var rows []certRow
	for _, ca := range secrets.CAs {
		rows = append(rows, pemRow(ca.Name, path, b.CAs[ca.Name].Cert,
			"a CA is not renewed in place: plan a CA rotation (kubeadm's manual rotation) before then"))
	}
	return append(rows, pemRow("admin", path, b.Admin.Cert,
		"run `ignigen secrets renew-admin "+path+"`, then build again for a new admin.kubeconfig"))
}

func pemRow(name, source, certPEM, hint string) certRow {
	row := certRow{name: name, source: source, hint: hint}
	c, err := pki.ParseCert([]byte(certPEM))
	if err != nil {
		row.err = fmt.Errorf("reading the certificate: %w", err)
		return row
	}
	row.notAfter = c.NotAfter
	return row
}

func kubeconfigRow(path string) (certRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return certRow{}, err
	}
	row := certRow{name: "admin client", source: path,
		hint: "renew the bundle's admin certificate (`ignigen secrets renew-admin`), then build again"}
	creds, err := kubeconfig.Parse(data)
	if err != nil {
		row.err = fmt.Errorf("reading the kubeconfig: %w", err)
		return row, nil
	}
	return pemRow(row.name, path, string(creds.Cert), row.hint), nil
}

// serverRow fetches the serving certificate of a live API server. The handshake is verified with
// the bundle's CA at the injected time, so an expired or foreign certificate is an error row.
func serverRow(rawURL string, b *secrets.Bundle, now func() time.Time) certRow {
	row := certRow{name: "API serving", source: rawURL,
		hint: "each control-plane node's renew-certs.timer renews it; see `systemctl status renew-certs` and `kubeadm certs check-expiration` there"}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		row.err = fmt.Errorf("want https://HOST:PORT")
		return row
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	pool := x509.NewCertPool()
	pool.AddCert(b.CACert())
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", host, &tls.Config{
		RootCAs: pool, ServerName: u.Hostname(), Time: now, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		row.err = fmt.Errorf("TLS handshake verified with the cluster CA: %w", err)
		return row
	}
	defer conn.Close()
	row.notAfter = conn.ConnectionState().PeerCertificates[0].NotAfter
	return row
}

// printCerts writes the table and returns 1 when any row is inside the margin or unreadable.
func printCerts(env *Env, rows []certRow, now time.Time, margin time.Duration) int {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tSOURCE\tEXPIRES\tREMAINING\tSTATUS")
	var problems []string
	for _, r := range rows {
		expires, remaining, status := "-", "-", "ok"
		switch left := r.notAfter.Sub(now); {
		case r.err != nil:
			status = "error: " + r.err.Error()
		case left <= 0:
			expires, remaining, status = r.notAfter.UTC().Format("2006-01-02 15:04 MST"), "expired", "EXPIRED"
		default:
			expires, remaining = r.notAfter.UTC().Format("2006-01-02 15:04 MST"), fmt.Sprintf("%dd", int(left/(24*time.Hour)))
			if left <= margin {
				status = "RENEW"
			}
		}
		switch status {
		case "ok":
		case "RENEW":
			problems = append(problems, fmt.Sprintf("%s (%s) expires on %s, within %s: %s", r.name, r.source, expires, days(margin), r.hint))
		case "EXPIRED":
			problems = append(problems, fmt.Sprintf("%s (%s) expired on %s: %s", r.name, r.source, expires, r.hint))
		default:
			problems = append(problems, fmt.Sprintf("%s (%s): %v", r.name, r.source, r.err))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.source, expires, remaining, status)
	}
	tw.Flush()
	if len(problems) == 0 {
		fmt.Fprintf(env.Stdout, "every certificate is valid for more than %s\n", days(margin))
		return ExitOK
	}
	for _, p := range problems {
		fmt.Fprintf(env.Stderr, "ignigen certs: %s\n", p)
	}
	return ExitFailed
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
