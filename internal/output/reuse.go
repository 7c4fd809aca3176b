package output

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// reuse links old, a file of the directory being replaced, to dst if it already holds exactly f:
// the same bytes, mode and owner, a regular file with no other link. It reports whether it did;
// on false nothing was created and the caller writes dst itself.
//
// Linking makes no new inode, and the old directory's removal then deletes none: on ext4 without
// a journal, creating a file skips every inode deleted in the last minutes, one lookup each, so a
// rebuild that deletes and recreates thousands of files slows the next one quadratically.
// Durability is unchanged: the inode's data and the new name are flushed by the same syncfs as
// the written files (a link never crosses file systems), before the directory is swapped in.
// The only visible difference is that an unchanged file keeps its inode and modification time.
// Only a file with one link is reused, so no name outside the output ever shares a new file.
func reuse(old, dst string, f File) bool {
	fd, err := os.OpenFile(old, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer fd.Close()
	var st unix.Stat_t
	if unix.Fstat(int(fd.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 ||
		st.Mode&0o7777 != uint32(f.Mode.Perm()) || int(st.Uid) != os.Geteuid() || st.Size != int64(len(f.Data)) {
		return false
	}
	data := make([]byte, len(f.Data)+1) // one more: a file that grew since the stat is not equal
	n, err := io.ReadFull(fd, data)
	if (err != io.ErrUnexpectedEOF && err != io.EOF) || n != len(f.Data) || !bytes.Equal(data[:n], f.Data) {
		return false
	}
	if unix.Linkat(unix.AT_FDCWD, old, unix.AT_FDCWD, dst, 0) != nil {
		return false
	}
	// The name may have been replaced between the read and the link: keep the link only if it is
	// the inode that was compared.
	var lst unix.Stat_t
	if unix.Lstat(dst, &lst) != nil || lst.Dev != st.Dev || lst.Ino != st.Ino {
		os.Remove(dst)
		return false
	}
	return true
}
