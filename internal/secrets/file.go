package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Marshal renders the bundle as YAML with literal PEM blocks.
func (b *Bundle) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# ignigen secrets bundle: the cluster's CAs and tokens. Keep it private (mode 0600)\n# and keep it: every later build of this cluster needs it.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// Unmarshal reads a bundle strictly and checks it at now.
func Unmarshal(data []byte, now time.Time) (*Bundle, error) {
	b, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if err := b.Check(now); err != nil {
		return nil, err
	}
	return b, nil
}

// Decode reads a bundle strictly without checking it, for repairs such as RenewAdmin.
func Decode(data []byte) (*Bundle, error) {
	var b Bundle
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Load reads and checks the bundle at path and returns it with the file's bytes. A missing file
// is fs.ErrNotExist; a *LooseModeError comes with a usable bundle.
func Load(path string, now time.Time) (*Bundle, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	b, err := Unmarshal(data, now)
	if err != nil {
		hint := "restore it from a backup: a new bundle means new CAs, and the running cluster would no longer trust its nodes"
		if OnlyAdminExpired(err) {
			hint = "renew it with `ignigen secrets renew-admin " + path + "`, then build again"
		}
		return nil, nil, fmt.Errorf("secrets bundle %s: %w\n%s", path, err, hint)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return b, data, &LooseModeError{Path: path, Mode: fi.Mode().Perm()}
	}
	return b, data, nil
}

// LooseModeError warns that others can read the bundle; the bundle itself is still returned.
type LooseModeError struct {
	Path string
	Mode fs.FileMode
}

func (e *LooseModeError) Error() string {
	return fmt.Sprintf("secrets bundle %s has mode %#o: others can read the cluster's CA keys; run chmod 600 %s", e.Path, e.Mode, e.Path)
}

// IsLooseMode reports whether err is only a permissions warning.
func IsLooseMode(err error) bool {
	var e *LooseModeError
	return errors.As(err, &e)
}
