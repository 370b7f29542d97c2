package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// idxBytes builds an unsigned-byte IDX stream with the given dims and payload
// (the payload need not match the dims, so tests can build broken files).
func idxBytes(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseIDXDecodesValidFiles(t *testing.T) {
	img := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}
	tests := []struct {
		name string
		in   []byte
		dims []int
		data []byte
	}{
		{"plain 1-D", idxBytes([]uint32{3}, []byte{5, 0, 9}), []int{3}, []byte{5, 0, 9}},
		{"plain 3-D", idxBytes([]uint32{3, 2, 2}, img), []int{3, 2, 2}, img},
		{"plain 4-D", idxBytes([]uint32{1, 3, 2, 2}, img), []int{1, 3, 2, 2}, img},
		{"gzip 1-D", gzipBytes(t, idxBytes([]uint32{3}, []byte{5, 0, 9})), []int{3}, []byte{5, 0, 9}},
		{"gzip 3-D", gzipBytes(t, idxBytes([]uint32{3, 2, 2}, img)), []int{3, 2, 2}, img},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDX(bytes.NewReader(tt.in), "sample.idx")
			if err != nil {
				t.Fatalf("ParseIDX: %v", err)
			}
			if !slices.Equal(got.Dims, tt.dims) || !bytes.Equal(got.Data, tt.data) {
				t.Errorf("got dims %v data %v, want %v %v", got.Dims, got.Data, tt.dims, tt.data)
			}
		})
	}
}

func TestParseIDXRejectsMalformedInput(t *testing.T) {
	good := idxBytes([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	gz := gzipBytes(t, good)
	corruptBody := slices.Clone(gz)
	for i := 10; i < len(corruptBody)-8; i++ {
		corruptBody[i] ^= 0xff
	}
	badCRC := slices.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff // first byte of the CRC-32 trailer
	tests := []struct {
		name string
		in   []byte
		want string // substring saying what is wrong
	}{
		{"empty input", nil, "truncated header"},
		{"short magic", []byte{0, 0}, "truncated header"},
		{"bad magic", []byte{0, 1, 8, 1, 0, 0, 0, 1, 7}, "bad magic"},
		{"text file", []byte("hello, world"), "bad magic"},
		{"unsupported element type", []byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "unsupported element type 0x0D"},
		{"zero dimensions", []byte{0, 0, 8, 0}, "number of dimensions 0"},
		{"five dimensions", idxBytes([]uint32{1, 1, 1, 1, 1}, []byte{1}), "number of dimensions 5"},
		{"truncated dims", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, "truncated header"},
		{"zero dim", idxBytes([]uint32{2, 0, 2}, nil), "is zero"},
		{"size overflows uint64", idxBytes([]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, nil), "too large"},
		{"size just over cap", idxBytes([]uint32{1 << 16, 1 << 15}, nil), "too large"},
		{"truncated data", idxBytes([]uint32{2, 3}, []byte{1, 2, 3, 4}), "want 6 bytes of data, file has 4"},
		{"trailing garbage", append(slices.Clone(good), 0), "trailing garbage"},
		{"gzip trailing garbage", gzipBytes(t, append(slices.Clone(good), 9, 9)), "trailing garbage"},
		{"gzip truncated IDX", gzipBytes(t, good[:len(good)-1]), "want 6 bytes of data, file has 5"},
		{"gzip bad header", []byte{0x1f, 0x8b, 0, 0, 0}, "corrupt gzip"},
		{"gzip corrupt body", corruptBody, "corrupt gzip"},
		{"gzip cut short", gz[:len(gz)-10], "corrupt gzip"},
		{"gzip bad checksum", badCRC, "corrupt gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDX(bytes.NewReader(tt.in), "sample.idx")
			if err == nil {
				t.Fatalf("ParseIDX succeeded with dims %v, want error containing %q", got.Dims, tt.want)
			}
			if msg := err.Error(); !strings.Contains(msg, "sample.idx") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q should name sample.idx and contain %q", msg, tt.want)
			}
		})
	}
}

// A header may announce up to ~2 GiB; the reader must not allocate that much
// before the data proves to be there.
func TestParseIDXDoesNotAllocateWhatTheHeaderClaims(t *testing.T) {
	in := idxBytes([]uint32{1 << 15, 1<<16 - 1}, []byte{1, 2, 3})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseIDX(bytes.NewReader(in), "liar.idx")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "file has 3") {
		t.Fatalf("err = %v, want truncated data error", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d bytes for a 3-byte payload", grew)
	}
}

func TestReadIDXFileNamesThePath(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad-idx1-ubyte")
	if err := os.WriteFile(bad, []byte{0, 0, 8, 1, 0, 0, 0, 5, 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good-idx1-ubyte.gz")
	if err := os.WriteFile(good, gzipBytes(t, idxBytes([]uint32{2}, []byte{4, 2})), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "absent")} {
		if _, err := ReadIDXFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadIDXFile(%s) error = %v, want one naming the path", p, err)
		}
	}
	idx, err := ReadIDXFile(good)
	if err != nil || !slices.Equal(idx.Dims, []int{2}) || !bytes.Equal(idx.Data, []byte{4, 2}) {
		t.Errorf("ReadIDXFile(%s) = %+v, %v; want dims [2] data [4 2]", good, idx, err)
	}
}
