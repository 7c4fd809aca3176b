package ignfiles

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/coreos/ignition/v2/config/v3_4/types"
	"github.com/vincent-petithory/dataurl"
)

// File is one file of a config with its decoded contents. Remote files have Source set and no Data.
type File struct {
	Path   string
	Mode   int
	Data   []byte
	Source string // non-data URL, fetched at boot
}

// Parse reads a config with Ignition's own parser and returns it with its files decoded.
// Unit contents and drop-ins are returned as files under /etc/systemd/system.
func Parse(raw []byte) (types.Config, []File, error) {
	cfg, rep, err := v3_4.Parse(raw)
	if err != nil {
		return cfg, nil, fmt.Errorf("ignition: %w: %s", err, rep.String())
	}
	var out []File
	for _, f := range cfg.Storage.Files {
		mode := 0o644
		if f.Mode != nil {
			mode = *f.Mode
		}
		file := File{Path: f.Path, Mode: mode}
		if f.Contents.Source != nil {
			data, remote, err := decode(*f.Contents.Source, f.Contents.Compression)
			if err != nil {
				return cfg, nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			file.Data, file.Source = data, remote
		}
		out = append(out, file)
	}
	for _, u := range cfg.Systemd.Units {
		if u.Contents != nil {
			out = append(out, File{Path: "/etc/systemd/system/" + u.Name, Mode: 0o644, Data: []byte(*u.Contents)})
		}
		for _, d := range u.Dropins {
			if d.Contents != nil {
				out = append(out, File{Path: "/etc/systemd/system/" + u.Name + ".d/" + d.Name, Mode: 0o644, Data: []byte(*d.Contents)})
			}
		}
	}
	return cfg, out, nil
}

func decode(source string, compression *string) ([]byte, string, error) {
	if !strings.HasPrefix(source, "data:") {
		return nil, source, nil
	}
	u, err := dataurl.DecodeString(source)
	if err != nil {
		return nil, "", err
	}
	data := u.Data
	if compression != nil && *compression == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, "", err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, "", err
		}
	}
	return data, "", nil
}

// Find returns the file at path, or nil.
func Find(files []File, path string) *File {
	for i := range files {
		if files[i].Path == path {
			return &files[i]
		}
	}
	return nil
}
