package output

import "io/fs"

// File is one file to write. Name is slash-separated and relative to the directory written.
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
}
