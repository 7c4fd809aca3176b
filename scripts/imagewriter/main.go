// Command imagewriter writes a container image as a docker-archive tarball
// (what `ctr images import` and `podman load` read) from local files only: no
// registry is involved. The boot test uses it to give each node the exact
// image references the cluster asks for, built from binaries in the tool cache.
//
//	imagewriter -o etcd.tar -ref registry.k8s.io/etcd:3.6.6-0 \
//	    -file /cache/etcd:/usr/local/bin/etcd -entrypoint /usr/local/bin/etcd
//
// -dir SRC:DST adds a directory tree (e.g. a Debian root for images that need
// shared libraries). Timestamps are zeroed so the same inputs give the same
// image digest.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const version = "imagewriter 1 (go-containerregistry v0.22.1)"

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var refs, files, dirs, entry, cmd, env list
	out := flag.String("o", "", "output tarball")
	showVersion := flag.Bool("version", false, "print version")
	flag.Var(&refs, "ref", "image reference (repeatable)")
	flag.Var(&files, "file", "SRC:DST file to add (repeatable)")
	flag.Var(&dirs, "dir", "SRC:DST directory tree to add (repeatable)")
	flag.Var(&entry, "entrypoint", "entrypoint word (repeatable)")
	flag.Var(&cmd, "cmd", "cmd word (repeatable)")
	flag.Var(&env, "env", "NAME=VALUE (repeatable)")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *out == "" || len(refs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: imagewriter -o FILE -ref REF [-file SRC:DST] [-dir SRC:DST] [-entrypoint W]...")
		os.Exit(2)
	}
	if err := run(*out, refs, files, dirs, entry, cmd, env); err != nil {
		fmt.Fprintln(os.Stderr, "imagewriter:", err)
		os.Exit(1)
	}
}

func run(out string, refs, files, dirs, entry, cmd, env []string) error {
	img := empty.Image
	for _, d := range dirs {
		src, dst, ok := strings.Cut(d, ":")
		if !ok {
			return fmt.Errorf("-dir %q: want SRC:DST", d)
		}
		l, err := layer(func(tw *tar.Writer) error { return addTree(tw, src, dst) })
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return err
		}
	}
	if len(files) > 0 {
		l, err := layer(func(tw *tar.Writer) error {
			for _, f := range files {
				src, dst, ok := strings.Cut(f, ":")
				if !ok {
					return fmt.Errorf("-file %q: want SRC:DST", f)
				}
				if err := addParents(tw, dst); err != nil {
					return err
				}
				if err := addFile(tw, src, dst); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint, cf.Config.Cmd = entry, cmd
	cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	m := map[name.Reference]v1.Image{}
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			return err
		}
		m[ref] = img
	}
	return tarball.MultiRefWriteToFile(out, m)
}

// layer builds an uncompressed layer in memory-independent form: written to a
// temporary file so large trees do not sit in RAM.
func layer(write func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.CreateTemp("", "imagewriter-layer-*.tar")
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(f)
	if err := write(tw); err != nil {
		f.Close()
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	p := f.Name()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(p) })
}

var seen = map[string]bool{}

func addParents(tw *tar.Writer, dst string) error {
	dir := path.Dir(path.Clean("/" + dst))
	var parts []string
	for dir != "/" {
		parts = append([]string{dir}, parts...)
		dir = path.Dir(dir)
	}
	for _, d := range parts {
		n := strings.TrimPrefix(d, "/") + "/"
		if seen[n] {
			continue
		}
		seen[n] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	return nil
}

func addFile(tw *tar.Writer, src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(path.Clean("/"+dst), "/"),
		Mode: int64(st.Mode().Perm()), Size: int64(len(data)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, bytes.NewReader(data))
	return err
}

// addTree adds src as dst: directories, regular files and symlinks (hard
// links become copies; devices, sockets and fifos are skipped).
func addTree(tw *tar.Writer, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		n := strings.TrimPrefix(path.Join("/"+dst, filepath.ToSlash(rel)), "/")
		if n == "" {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var link string
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir(), info.Mode().IsRegular():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name, h.ModTime, h.AccessTime, h.ChangeTime = n, time.Unix(0, 0), time.Time{}, time.Time{}
		h.Uname, h.Gname, h.Format = "", "", tar.FormatPAX
		if info.IsDir() {
			h.Name += "/"
			seen[h.Name] = true
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
}
