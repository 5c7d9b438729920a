package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paperperps/exchange/snapshot"
)

var errTest = errors.New("test: bad snapshot")

func TestUvarint(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want uint64
		err  string // "" for success
	}{
		{"zero", []byte{0x00}, 0, ""},
		{"one byte", []byte{0x7f}, 127, ""},
		{"two bytes", []byte{0x80, 0x01}, 128, ""},
		{"max", binary.AppendUvarint(nil, math.MaxUint64), math.MaxUint64, ""},
		{"empty", nil, 0, "truncated"},
		{"cut", []byte{0x80}, 0, "truncated"},
		{"cut max", binary.AppendUvarint(nil, math.MaxUint64)[:9], 0, "truncated"},
		{"padded zero", []byte{0x80, 0x00}, 0, "shortest form"},
		{"padded one", []byte{0x81, 0x00}, 0, "shortest form"},
		{"padded 128", []byte{0x80, 0x81, 0x00}, 0, "shortest form"},
		{"overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, "overflows"},
		{"too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 0, "overflows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := snapshot.NewReader(c.in, errTest)
			got := r.Uvarint("x")
			checkErr(t, r.Err(), c.err)
			if got != c.want {
				t.Errorf("Uvarint = %d, want %d", got, c.want)
			}
			if c.err == "" && r.Len() != 0 {
				t.Errorf("%d bytes left", r.Len())
			}
			if c.err != "" && !bytes.Equal(r.Rest(), c.in) {
				t.Errorf("a failed read consumed bytes: rest %x", r.Rest())
			}
		})
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, math.MaxInt64, math.MinInt64} {
		in := binary.AppendVarint(nil, v)
		r := snapshot.NewReader(in, errTest)
		if got := r.Varint("x"); got != v || r.Err() != nil || r.Len() != 0 {
			t.Errorf("Varint(%x) = %d, %v, %d left; want %d", in, got, r.Err(), r.Len(), v)
		}
		if !bytes.Equal(snapshot.AppendVarint(nil, v), in) {
			t.Errorf("AppendVarint(%d) differs from binary.AppendVarint", v)
		}
	}
	// -1 is zigzag 1; a padded 1 is refused.
	r := snapshot.NewReader([]byte{0x81, 0x00}, errTest)
	if got := r.Varint("x"); got != 0 {
		t.Errorf("Varint of padded -1 = %d, want 0", got)
	}
	checkErr(t, r.Err(), "shortest form")
}

func TestLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		read func(r *snapshot.Reader) uint64
		in   []byte
		want uint64
		err  string
	}{
		{"upto at limit", func(r *snapshot.Reader) uint64 { return r.Upto("x", 5) }, []byte{5}, 5, ""},
		{"upto above", func(r *snapshot.Reader) uint64 { return r.Upto("x", 5) }, []byte{6}, 0, "x 6 above 5"},
		{"upto max", func(r *snapshot.Reader) uint64 { return r.Upto("x", math.MaxUint64) },
			binary.AppendUvarint(nil, math.MaxUint64), math.MaxUint64, ""},
		{"count fits", func(r *snapshot.Reader) uint64 { return uint64(r.Count("items", 10, 2)) }, []byte{2, 0, 0, 0, 0}, 2, ""},
		{"count above limit", func(r *snapshot.Reader) uint64 { return uint64(r.Count("items", 1, 1)) }, []byte{2, 0, 0}, 0, "items 2 above 1"},
		{"count beyond bytes", func(r *snapshot.Reader) uint64 { return uint64(r.Count("items", 10, 2)) }, []byte{3, 0, 0, 0, 0}, 0, "3 items in 4 bytes"},
		{"count zero minBytes", func(r *snapshot.Reader) uint64 { return uint64(r.Count("items", 10, 0)) }, []byte{2, 0}, 0, "2 items in 1 bytes"},
		{"count huge", func(r *snapshot.Reader) uint64 { return uint64(r.Count("items", math.MaxUint64, 1)) },
			binary.AppendUvarint(nil, math.MaxUint64), 0, "items in 0 bytes"},
		{"byte", func(r *snapshot.Reader) uint64 { return uint64(r.Byte("b")) }, []byte{0xfe}, 0xfe, ""},
		{"byte empty", func(r *snapshot.Reader) uint64 { return uint64(r.Byte("b")) }, nil, 0, "b: truncated"},
		{"bytes", func(r *snapshot.Reader) uint64 { return uint64(len(r.Bytes("s", 2))) }, []byte{1, 2}, 2, ""},
		{"bytes short", func(r *snapshot.Reader) uint64 { return uint64(len(r.Bytes("s", 3))) }, []byte{1, 2}, 0, "s: 3 bytes, 2 left"},
		{"bytes huge", func(r *snapshot.Reader) uint64 { return uint64(len(r.Bytes("s", math.MaxUint64))) }, []byte{1}, 0, "left"},
		{"blob", func(r *snapshot.Reader) uint64 { return uint64(len(r.Blob("s"))) }, []byte{2, 7, 7}, 2, ""},
		{"blob short", func(r *snapshot.Reader) uint64 { return uint64(len(r.Blob("s"))) }, []byte{3, 7, 7}, 0, "s: 3 bytes, 2 left"},
		{"blob no length", func(r *snapshot.Reader) uint64 { return uint64(len(r.Blob("s"))) }, nil, 0, "s length: truncated"},
		{"skip negative", func(r *snapshot.Reader) uint64 { r.Skip("k", -1); return 0 }, []byte{1}, 0, "k: skip -1"},
		{"skip", func(r *snapshot.Reader) uint64 { r.Skip("k", 1); return 0 }, []byte{1}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := snapshot.NewReader(c.in, errTest)
			got := c.read(&r)
			checkErr(t, r.Err(), c.err)
			if got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
}

// TestSticky: after the first error every read returns zero, consumes
// nothing, and the error stays the first one.
func TestSticky(t *testing.T) {
	r := snapshot.NewReader([]byte{0x80, 0x00, 1, 2, 3}, errTest)
	r.Uvarint("first")
	first := r.Err()
	checkErr(t, first, "first: varint not in its shortest form")
	if r.Byte("b") != 0 || r.Uvarint("u") != 0 || r.Varint("v") != 0 || r.Upto("u", 9) != 0 ||
		r.Count("c", 9, 1) != 0 || r.Bytes("s", 1) != nil || r.Blob("s") != nil {
		t.Error("a read after an error returned a value")
	}
	r.Fail("later")
	r.Skip("k", 1)
	if r.Err() != first {
		t.Errorf("error changed to %v", r.Err())
	}
	if r.Len() != 5 {
		t.Errorf("%d bytes left, want 5", r.Len())
	}
}

func TestErrors(t *testing.T) {
	r := snapshot.NewReader(nil, errTest)
	r.SetPrefix("market 3: ")
	if err := r.Errorf("n %d", 4); err.Error() != "test: bad snapshot: market 3: n 4" || !errors.Is(err, errTest) {
		t.Errorf("Errorf = %q", err)
	}
	if r.Err() != nil {
		t.Error("Errorf recorded its error")
	}
	r.SetPrefix("")
	r.Byte("version")
	if err := r.Err(); err == nil || err.Error() != "test: bad snapshot: version: truncated" {
		t.Errorf("Err = %v", err)
	}
	d := snapshot.NewReader(nil, nil)
	d.Byte("b")
	if !errors.Is(d.Err(), snapshot.ErrBadSnapshot) {
		t.Errorf("without a sentinel: %v does not wrap snapshot.ErrBadSnapshot", d.Err())
	}
}

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = append(b, 9)
	b = snapshot.AppendUvarint(b, 300)
	b = snapshot.AppendVarint(b, -300)
	b = snapshot.AppendBlob(b, "BTC")
	b = snapshot.AppendBlob(b, []byte{})
	b = snapshot.AppendBlob(b, []byte{1, 2})
	b = append(b, 0xAB)
	r := snapshot.NewReader(b, errTest)
	if r.Byte("b") != 9 || r.Uvarint("u") != 300 || r.Varint("v") != -300 ||
		string(r.Blob("s")) != "BTC" || len(r.Blob("e")) != 0 || !bytes.Equal(r.Blob("t"), []byte{1, 2}) {
		t.Fatalf("round trip failed: %v", r.Err())
	}
	if r.Err() != nil || !bytes.Equal(r.Rest(), []byte{0xAB}) {
		t.Errorf("err %v, rest %x", r.Err(), r.Rest())
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("err = %v, want none", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && (!errors.Is(err, errTest) || !strings.Contains(err.Error(), want)):
		t.Errorf("err = %v, want one wrapping errTest containing %q", err, want)
	}
}

// FuzzReader: any input read with any sequence of operations never panics;
// every value decoded without error re-encodes to exactly the bytes it was
// read from (canonical form), and every error wraps the sentinel.
func FuzzReader(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0, 1, 2, 3}, []byte{0x80, 0x01, 0x05})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7}, []byte{0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{6, 5, 4}, []byte{3, 'a', 'b', 'c', 2, 0})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		r := snapshot.NewReader(data, errTest)
		for _, op := range ops {
			before := r.Rest()
			var enc []byte
			switch op % 8 {
			case 0:
				enc = append(enc, r.Byte("b"))
			case 1:
				enc = snapshot.AppendUvarint(nil, r.Uvarint("u"))
			case 2:
				enc = snapshot.AppendVarint(nil, r.Varint("v"))
			case 3:
				enc = snapshot.AppendUvarint(nil, r.Upto("u", uint64(op)))
			case 4:
				enc = snapshot.AppendUvarint(nil, uint64(r.Count("c", uint64(op)*1000, int(op%5))))
			case 5:
				enc = r.Bytes("s", uint64(op>>3))
			case 6:
				enc = snapshot.AppendBlob(nil, r.Blob("s"))
			case 7:
				n := int(op>>3) - 4
				r.Skip("k", n)
				if r.Err() == nil {
					enc = before[:n]
				}
			}
			if err := r.Err(); err != nil {
				if !errors.Is(err, errTest) {
					t.Fatalf("error %v does not wrap the sentinel", err)
				}
				continue
			}
			if got := before[:len(before)-r.Len()]; !bytes.Equal(got, enc) {
				t.Fatalf("op %d read %x, which re-encodes to %x", op, got, enc)
			}
		}
	})
}
