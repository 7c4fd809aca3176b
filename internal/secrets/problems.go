package secrets

import (
	"errors"
	"strings"
)

// Problems is every problem Check found in a bundle, one error each, so callers can tell a
// bundle whose only problem RenewAdmin repairs from a damaged one without reading the text.
type Problems []error

func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, e := range p {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (p Problems) Unwrap() []error { return p }

// OnlyAdminExpired reports whether err's one problem is an expired admin certificate.
func OnlyAdminExpired(err error) bool {
	var p Problems
	return errors.As(err, &p) && len(p) == 1 && errors.Is(p[0], ErrAdminExpired)
}
