package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadSnapshot is what a Reader's errors wrap when NewReader was given no
// sentinel of its own.
var ErrBadSnapshot = errors.New("snapshot: bad snapshot")

// AppendUvarint appends v as a shortest-form unsigned varint.
func AppendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// AppendVarint appends v as a shortest-form zigzag varint.
func AppendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// AppendBlob appends b prefixed with its length as a uvarint; Reader.Blob
// reads it back.
func AppendBlob[T ~string | ~[]byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Reader decodes a snapshot. Its first error sticks: later reads return zero
// values (and nil slices) and consume nothing. A Reader never panics.
//
// Each read takes a "what" label that names the field in error messages.
type Reader struct {
	data     []byte
	err      error
	sentinel error
	prefix   string
}

// NewReader returns a Reader over data whose errors all wrap sentinel (or
// ErrBadSnapshot if sentinel is nil).
func NewReader(data []byte, sentinel error) Reader {
	if sentinel == nil {
		sentinel = ErrBadSnapshot
	}
	return Reader{data: data, sentinel: sentinel}
}

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Rest returns the bytes not read yet. After an error they are what was
// left when it happened.
func (r *Reader) Rest() []byte { return r.data }

// Len returns the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.data) }

// SetPrefix sets a prefix for the messages of later errors, such as
// "market 3: " ("" for none).
func (r *Reader) SetPrefix(prefix string) { r.prefix = prefix }

// Errorf returns an error wrapping the sentinel, with the prefix and the
// formatted message, without recording it.
func (r *Reader) Errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s"+format, append([]any{r.sentinel, r.prefix}, args...)...)
}

// Fail records Errorf(format, args...) unless an error is already recorded.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = r.Errorf(format, args...)
	}
}

// Byte reads one byte.
func (r *Reader) Byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.data) == 0 {
		r.Fail("%s: truncated", what)
		return 0
	}
	v := r.data[0]
	r.data = r.data[1:]
	return v
}

// Uvarint reads an unsigned varint in its shortest form: a longer form of
// the same value would decode to a state that encodes to other bytes.
func (r *Reader) Uvarint(what string) uint64 { return r.uvarint(what, "") }

// uvarint is Uvarint for the field named what+suffix, which is joined only
// for an error: Blob reads a length for every record of a journal.
func (r *Reader) uvarint(what, suffix string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data)
	switch {
	case n == 0:
		r.Fail("%s%s: truncated", what, suffix)
	case n < 0:
		r.Fail("%s%s: varint overflows 64 bits", what, suffix)
	case n > 1 && r.data[n-1] == 0:
		// The last byte holds the highest bits: 0 there means a shorter
		// form exists.
		r.Fail("%s%s: varint not in its shortest form", what, suffix)
	default:
		r.data = r.data[n:]
		return v
	}
	return 0
}

// Varint reads a zigzag varint in its shortest form (it is a uvarint
// underneath).
func (r *Reader) Varint(what string) int64 {
	u := r.Uvarint(what)
	return int64(u>>1) ^ -int64(u&1)
}

// Upto reads a uvarint that must not exceed limit.
func (r *Reader) Upto(what string, limit uint64) uint64 {
	v := r.Uvarint(what)
	if r.err == nil && v > limit {
		r.Fail("%s %d above %d", what, v, limit)
		return 0
	}
	return v
}

// Count reads the number of items that follow: at most limit, and each
// taking at least minBytes (at least 1), so a count beyond the bytes left is
// refused before it sizes an allocation.
func (r *Reader) Count(what string, limit uint64, minBytes int) int {
	v := r.Upto(what, limit)
	if r.err == nil && v > uint64(len(r.data)/max(minBytes, 1)) {
		r.Fail("%d %s in %d bytes", v, what, len(r.data))
		return 0
	}
	return int(v)
}

// Bytes reads the next n bytes. The result shares the Reader's data.
func (r *Reader) Bytes(what string, n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.data)) {
		r.Fail("%s: %d bytes, %d left", what, n, len(r.data))
		return nil
	}
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
}

// Blob reads what AppendBlob wrote: a uvarint length, then that many bytes.
// The result shares the Reader's data.
func (r *Reader) Blob(what string) []byte {
	return r.Bytes(what, r.uvarint(what, " length"))
}

// Skip drops the next n bytes, as after decoding them by other means.
func (r *Reader) Skip(what string, n int) {
	if n < 0 {
		r.Fail("%s: skip %d bytes", what, n)
		return
	}
	r.Bytes(what, uint64(n))
}
