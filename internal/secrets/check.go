package secrets

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
)

// ErrAdminExpired marks an expired admin certificate: unlike a damaged CA, RenewAdmin repairs it.
var ErrAdminExpired = errors.New("the admin certificate has expired")

// Check verifies a bundle is complete and consistent and that nothing in it has expired at now.
// It returns every problem as Problems, so a damaged bundle is described in one go.
func (b *Bundle) Check(now time.Time) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if b.APIVersion != APIVersion || b.Kind != Kind {
		add("header is %s/%s, want %s/%s", b.APIVersion, b.Kind, APIVersion, Kind)
	}
	if !pki.Supported(b.KeyAlgorithm) {
		add("keyAlgorithm %q is not %s", b.KeyAlgorithm, pki.Algorithms())
	}
	for _, ca := range CAs {
		kp, ok := b.CAs[ca.Name]
		if !ok {
			add("cas.%s is missing", ca.Name)
			continue
		}
		if _, err := b.checkPair("cas."+ca.Name, kp, nil, now); err != nil {
			errs = append(errs, err)
			continue
		}
		cert, _ := pki.ParseCert([]byte(kp.Cert))
		if !cert.IsCA || cert.Subject.CommonName != ca.CN {
			add("cas.%s: want a CA with CN %q, have CA=%v CN %q", ca.Name, ca.CN, cert.IsCA, cert.Subject.CommonName)
		}
	}
	for name := range b.CAs {
		if !slices.ContainsFunc(CAs, func(ca CA) bool { return ca.Name == name }) {
			add("cas.%s is not a CA ignigen knows", name)
		}
	}
	if saKey, err := pki.ParseKey([]byte(b.ServiceAccount.Key)); err != nil {
		add("serviceAccount.key: %v", err)
	} else if pub, err := pki.ParsePublicKey([]byte(b.ServiceAccount.Pub)); err != nil {
		add("serviceAccount.pub: %v", err)
	} else if !pki.SamePublicKey(saKey.Public(), pub) {
		add("serviceAccount.pub does not belong to serviceAccount.key")
	}
	if kp, ok := b.CAs["ca"]; ok {
		if ca, err := pki.ParseCert([]byte(kp.Cert)); err == nil {
			if admin, err := b.checkPair("admin", b.Admin, ca, now); err != nil {
				errs = append(errs, err)
			} else if !slices.Contains(admin.Subject.Organization, AdminGroup) {
				add("admin: certificate is not in group %s", AdminGroup)
			}
		}
	}
	if !TokenRE.MatchString(b.BootstrapToken) {
		add("bootstrapToken is not of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	if n := len(b.VRRPPassword); n < 1 || n > vrrpPasswordLen {
		add("vrrpPassword must be 1-%d characters (keepalived ignores the rest)", vrrpPasswordLen)
	}
	if len(errs) == 0 {
		return nil
	}
	return Problems(errs)
}

// checkPair parses a key pair, checks the key matches the certificate, its algorithm, its
// validity at now, and (for leaves) that parent signed it.
func (b *Bundle) checkPair(name string, kp KeyPair, parent *x509.Certificate, now time.Time) (*x509.Certificate, error) {
	cert, err := pki.ParseCert([]byte(kp.Cert))
	if err != nil {
		return nil, fmt.Errorf("%s.cert: %w", name, err)
	}
	key, err := pki.ParseKey([]byte(kp.Key))
	if err != nil {
		return nil, fmt.Errorf("%s.key: %w", name, err)
	}
	if !pki.SamePublicKey(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("%s: key does not belong to the certificate", name)
	}
	if alg := pki.AlgorithmOf(cert.PublicKey); alg != b.KeyAlgorithm {
		return nil, fmt.Errorf("%s: key is %s, the bundle says %s", name, orUnknown(alg), b.KeyAlgorithm)
	}
	if now.After(cert.NotAfter) {
		err := fmt.Errorf("%s: certificate expired on %s", name, cert.NotAfter.Format(time.DateOnly))
		if name == "admin" {
			err = fmt.Errorf("%w: %w", ErrAdminExpired, err)
		}
		return nil, err
	}
	if parent != nil {
		if err := cert.CheckSignatureFrom(parent); err != nil {
			return nil, fmt.Errorf("%s: not signed by the cluster CA: %w", name, err)
		}
	}
	return cert, nil
}

func orUnknown(a model.KeyAlgorithm) string {
	if a == "" {
		return "an unsupported type"
	}
	return string(a)
}

// Expiring describes certificates of the bundle that expire within the given margins of now:
// the admin certificate within adminMargin, a CA within caMargin. They still work; the
// operator should plan their renewal.
func (b *Bundle) Expiring(now time.Time, adminMargin, caMargin time.Duration) []string {
	var out []string
	check := func(name, pemCert string, margin time.Duration) {
		if c, err := pki.ParseCert([]byte(pemCert)); err == nil && now.Add(margin).After(c.NotAfter) {
			out = append(out, fmt.Sprintf("%s certificate expires on %s", name, c.NotAfter.Format(time.DateOnly)))
		}
	}
	check("admin", b.Admin.Cert, adminMargin)
	for _, ca := range CAs {
		check("CA "+ca.Name, b.CAs[ca.Name].Cert, caMargin)
	}
	return out
}
