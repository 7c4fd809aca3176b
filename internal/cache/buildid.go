package cache

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// BuildID returns the Go build ID of the running executable, which changes with any change to
// its code or its dependencies': the salt of every entry, so a rebuilt ignigen starts afresh.
// It is read from the ELF note the Go linker writes near the start of the file; nil if there
// is none (another format, a stripped note), and then the cache is not used.
func BuildID() []byte {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil
	}
	defer f.Close()
	// The note follows the ELF program headers, in the first page; look further only if not.
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head[:4<<10])
	if id := noteBuildID(head[:n]); id != nil || n < 4<<10 {
		return id
	}
	m, _ := io.ReadFull(f, head[n:])
	return noteBuildID(head[:n+m])
}

// noteBuildID finds the "Go" ELF note of type 4 (the build ID) in head: namesz 4, descsz,
// type 4, "Go\x00\x00", then descsz bytes of ID.
func noteBuildID(head []byte) []byte {
	tag := []byte("\x04\x00\x00\x00Go\x00\x00")
	for off := 0; ; {
		i := bytes.Index(head[off:], tag)
		if i < 0 {
			return nil
		}
		i += off
		off = i + 1
		if i < 8 || binary.LittleEndian.Uint32(head[i-8:]) != 4 {
			continue
		}
		size := int(binary.LittleEndian.Uint32(head[i-4:]))
		start := i + len(tag)
		if size == 0 || size > 256 || start+size > len(head) {
			continue
		}
		return bytes.Clone(head[start : start+size])
	}
}
