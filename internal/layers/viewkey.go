package layers

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"slices"
)

// A node's rendered stack is a function of its view and the profile's templates (include,
// indent and quote read nothing else; skeleton.go relies on the same), so a cached config can be
// found from a digest of the view without rendering it (a tenth of a cached rebuild's time).
// The digest covers every field, exported or not, of everything the view reaches.

// viewDigest is the SHA-256 of v's deep encoding.
func viewDigest(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, reflect.ValueOf(v), 0); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.Bytes())
	return sum[:], nil
}

var errNotEncodable = errors.New("value cannot be encoded for a digest")

// encodeValue writes a deterministic, self-delimiting encoding of v: its kind, its type's name
// for structs and interfaces, lengths before contents, map entries in encoded-key order.
func encodeValue(b *bytes.Buffer, v reflect.Value, depth int) error {
	if depth > 64 {
		return errNotEncodable // a cycle, or deeper than any view
	}
	var n [8]byte
	word := func(u uint64) {
		binary.LittleEndian.PutUint64(n[:], u)
		b.Write(n[:])
	}
	str := func(s string) {
		word(uint64(len(s)))
		b.WriteString(s)
	}
	if !v.IsValid() {
		b.WriteByte(0)
		return nil
	}
	b.WriteByte(byte(v.Kind()))
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		word(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		word(v.Uint())
	case reflect.Float32, reflect.Float64:
		word(math.Float64bits(v.Float()))
	case reflect.String:
		str(v.String())
	case reflect.Slice:
		if v.IsNil() {
			b.WriteByte(0)
			return nil
		}
		b.WriteByte(1)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			word(uint64(v.Len()))
			b.Write(v.Bytes())
			return nil
		}
		fallthrough
	case reflect.Array:
		word(uint64(v.Len()))
		for i := range v.Len() {
			if err := encodeValue(b, v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteByte(0)
			return nil
		}
		b.WriteByte(1)
		return encodeValue(b, v.Elem(), depth+1)
	case reflect.Interface:
		if v.IsNil() {
			b.WriteByte(0)
			return nil
		}
		b.WriteByte(1)
		str(v.Elem().Type().String())
		return encodeValue(b, v.Elem(), depth+1)
	case reflect.Struct:
		str(v.Type().PkgPath() + "." + v.Type().Name())
		word(uint64(v.NumField()))
		for i := range v.NumField() {
			if err := encodeValue(b, v.Field(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			b.WriteByte(0)
			return nil
		}
		b.WriteByte(1)
		entries := make([][]byte, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			var e bytes.Buffer
			if err := encodeValue(&e, it.Key(), depth+1); err != nil {
				return err
			}
			if err := encodeValue(&e, it.Value(), depth+1); err != nil {
				return err
			}
			entries = append(entries, e.Bytes())
		}
		// Each entry starts with its key's encoding, and keys differ: sorting entries sorts keys.
		slices.SortFunc(entries, bytes.Compare)
		word(uint64(len(entries)))
		for _, e := range entries {
			b.Write(e)
		}
	default: // funcs, channels, unsafe pointers: nothing a template could read as data
		return errNotEncodable
	}
	return nil
}
