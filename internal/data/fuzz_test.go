package data

import (
	"bytes"
	"testing"
)

// FuzzParseIDX checks that no input panics and that every accepted file is
// self-consistent: 1..4 positive dims whose product is the data length.
func FuzzParseIDX(f *testing.F) {
	good := idxBytes([]uint32{2, 2, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 255})
	f.Add(good)
	f.Add(gzipBytes(f, good))
	f.Add(idxBytes([]uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes([]uint32{3}, []byte{1, 2}))                       // truncated data
	f.Add(idxBytes([]uint32{0xffffffff, 0xffffffff}, nil))           // too large
	f.Add(append(idxBytes([]uint32{1}, []byte{1}), 0))               // trailing garbage
	f.Add([]byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})             // int32 element type
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4}) // broken gzip
	f.Fuzz(func(t *testing.T, in []byte) {
		idx, err := ParseIDX(bytes.NewReader(in), "fuzz.idx")
		if err != nil {
			return
		}
		if len(idx.Dims) < 1 || len(idx.Dims) > 4 {
			t.Fatalf("accepted %d dims", len(idx.Dims))
		}
		n := 1
		for _, d := range idx.Dims {
			if d <= 0 {
				t.Fatalf("accepted dims %v", idx.Dims)
			}
			n *= d
		}
		if len(idx.Data) != n {
			t.Fatalf("dims %v imply %d bytes, got %d", idx.Dims, n, len(idx.Data))
		}
	})
}
