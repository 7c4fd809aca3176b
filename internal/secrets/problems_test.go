package secrets

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOnlyAdminExpired(t *testing.T) {
	expired := fmt.Errorf("admin: %w: x509: expired", ErrAdminExpired)
	other := errors.New("cas.ca is missing")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"only the admin", Problems{expired}, true},
		{"admin and more", Problems{expired, other}, false},
		{"another problem", Problems{other}, false},
		{"wrapped", fmt.Errorf("bundle: %w", Problems{expired}), true},
		{"a message with a line break is still one problem", Problems{fmt.Errorf("%w\nsecond line", ErrAdminExpired)}, true},
		{"not from Check", expired, false},
	} {
		assert.Equal(t, tc.want, OnlyAdminExpired(tc.err), tc.name)
	}
}
