package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func encodeBytes(t testing.TB, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

// rawFile assembles a file from a hand-written header and data section,
// without any of Encode's help, so malformed files can be crafted.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func sameTensors(a, b []Tensor) bool {
	return slices.EqualFunc(a, b, func(x, y Tensor) bool {
		return x.Name == y.Name && x.DType == y.DType && slices.Equal(x.Shape, y.Shape) && bytes.Equal(x.Data, y.Data)
	})
}

func TestRoundTripPreservesTensorsMetadataAndOrder(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"step": "1200", "model": "vae", "quote\"<&>": "ünïcode"},
		Tensors: []Tensor{
			Float32s("z.weight", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-30, -7}),
			Bytes("rng", []byte{9, 8, 7}),
			Float32s("conv", []int{1, 2, 1, 2}, []float32{1, 2, 3, 4}),
			Float64s("a.scale", []int{2}, []float64{3.25, -1e300}),
			Int64s("step", []int{}, []int64{-42}),
			Float32s("empty", []int{0, 4}, nil),
		},
	}
	got, err := Decode(encodeBytes(t, f), "rt")
	if err != nil {
		t.Fatal(err)
	}
	if !sameTensors(got.Tensors, f.Tensors) {
		t.Fatalf("tensors differ:\n got %+v\nwant %+v", got.Tensors, f.Tensors)
	}
	for k, v := range f.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if _, ok := f.Metadata[ChecksumKey]; ok {
		t.Error("Encode modified the caller's metadata")
	}
	if len(got.Metadata[ChecksumKey]) != 64 {
		t.Errorf("checksum key missing: %v", got.Metadata)
	}
	w, _ := got.Tensors[0].AsFloat32s()
	if !slices.Equal(w, []float32{1, -2, 3.5, 0, 1e-30, -7}) {
		t.Errorf("AsFloat32s = %v", w)
	}
	s, _ := got.Tensors[3].AsFloat64s()
	if !slices.Equal(s, []float64{3.25, -1e300}) {
		t.Errorf("AsFloat64s = %v", s)
	}
	i, _ := got.Tensors[4].AsInt64s()
	if !slices.Equal(i, []int64{-42}) {
		t.Errorf("AsInt64s = %v", i)
	}
}

func TestEncodeProducesExactSpecLayout(t *testing.T) {
	data := []byte{1, 2, 3, 0, 0, 0x80, 0x3f} // U8[3] then F32[1] = 1.0
	sum := sha256.Sum256(data)
	header := `{"__metadata__":{"gentri.sha256":"` + hex.EncodeToString(sum[:]) + `"},` +
		`"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},` +
		`"b":{"dtype":"F32","shape":[1],"data_offsets":[3,7]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	want := rawFile(header, data)
	got := encodeBytes(t, &File{Tensors: []Tensor{Bytes("a", []byte{1, 2, 3}), Float32s("b", []int{1}, []float32{1})}})
	if !bytes.Equal(got, want) {
		t.Fatalf("layout differs:\n got %q\nwant %q", got, want)
	}
	if (8+len(header))%8 != 0 {
		t.Fatal("test header not aligned")
	}
}

func TestEncodeAlignsDataTo8Bytes(t *testing.T) {
	for _, name := range []string{"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"} {
		b := encodeBytes(t, &File{Tensors: []Tensor{Bytes(name, []byte{1})}})
		n := binary.LittleEndian.Uint64(b)
		hdr := strings.TrimRight(string(b[8:8+n]), " ")
		if (8+n)%8 != 0 || int(8+n) != len(b)-1 || !strings.HasSuffix(hdr, "}") || len(hdr)+8 <= int(n) {
			t.Errorf("name %q: header length %d, file %q", name, n, b)
		}
	}
}

func TestEncodeRejectsInvalidTensors(t *testing.T) {
	tests := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"data shorter than shape", []Tensor{Float32s("w", []int{2, 2}, []float32{1, 2, 3})}, "needs 16 bytes, data has 12"},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}}, "unknown dtype"},
		{"negative dimension", []Tensor{{Name: "w", DType: U8, Shape: []int{-1}}}, "negative dimension"},
		{"duplicate name", []Tensor{Bytes("w", nil), Bytes("w", nil)}, "duplicate name"},
		{"empty name", []Tensor{Bytes("", nil)}, "invalid tensor name"},
		{"reserved name", []Tensor{Bytes("__metadata__", nil)}, "invalid tensor name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Encode(&b, &File{Tensors: tc.ts})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

func TestDecodeAcceptsForeignFileWithoutChecksum(t *testing.T) {
	// As another tool might write it: no metadata, entries not in offset
	// order, header padded with spaces, unaligned data start.
	header := `{"y":{"dtype":"I32","shape":[1],"data_offsets":[2,6]},"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}   `
	f, err := Decode(rawFile(header, []byte{1, 2, 3, 4, 5, 6}), "foreign")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Tensors[0].Name != "x" || f.Tensors[1].Name != "y" || !bytes.Equal(f.Tensors[1].Data, []byte{3, 4, 5, 6}) {
		t.Fatalf("tensors not in data_offsets order: %+v", f.Tensors)
	}
	if f.Metadata == nil {
		t.Error("Metadata is nil; want an empty map")
	}
}

func TestDecodeRejectsMalformedFiles(t *testing.T) {
	good := encodeBytes(t, &File{Tensors: []Tensor{Float32s("w", []int{2}, []float32{1, 2}), Bytes("b", []byte{7})}})
	hdrLen := 8 + int(binary.LittleEndian.Uint64(good))
	flipped := slices.Clone(good)
	flipped[len(flipped)-2] ^= 0x40
	absurd := slices.Clone(good)
	binary.LittleEndian.PutUint64(absurd, 1<<40)
	tiny := slices.Clone(good)
	binary.LittleEndian.PutUint64(tiny, 1)
	entry := func(name, dtype, shape, offs string) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offs + `}`
	}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty input", nil, "truncated"},
		{"cut inside length prefix", good[:5], "truncated"},
		{"cut inside header", good[:hdrLen-10], "truncated"},
		{"cut inside data", good[:len(good)-3], "truncated"},
		{"cut at end of header", good[:hdrLen], "truncated"},
		{"header length absurd", absurd, "absurd"},
		{"header length below minimum", tiny, "absurd"},
		{"bad JSON", rawFile(`{"w":{"dtype":`, nil), "not valid JSON"},
		{"header not an object", rawFile(`[1, 2]`, nil), "not a JSON object"},
		{"header not UTF-8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
		{"unknown dtype", rawFile(`{`+entry("w", "F128", "[1]", "[0,16]")+`}`, make([]byte, 16)), `"w": unknown dtype "F128"`},
		{"negative shape", rawFile(`{`+entry("w", "U8", "[-1]", "[0,0]")+`}`, nil), "negative dimension"},
		{"shape overflows", rawFile(`{`+entry("w", "F64", "[4611686018427387904,4]", "[0,8]")+`}`, make([]byte, 8)), "too large"},
		{"missing shape", rawFile(`{"w":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{1}), "missing shape"},
		{"entry not an object", rawFile(`{"w":[1,2]}`, nil), "bad header entry"},
		{"shape size mismatch", rawFile(`{`+entry("w", "F32", "[2]", "[0,4]")+`}`, make([]byte, 4)), "size mismatch"},
		{"offsets reversed", rawFile(`{`+entry("w", "U8", "[0]", "[4,0]")+`}`, make([]byte, 4)), "0 <= begin <= end"},
		{"offsets wrong arity", rawFile(`{`+entry("w", "U8", "[1]", "[0]")+`}`, make([]byte, 1)), "data_offsets"},
		{"offsets beyond data", rawFile(`{`+entry("w", "U8", "[4]", "[8,12]")+`}`, make([]byte, 4)), "truncated"},
		{"overlapping offsets", rawFile(`{`+entry("a", "U8", "[4]", "[0,4]")+`,`+entry("b", "U8", "[4]", "[2,6]")+`}`, make([]byte, 6)), `"b": data_offsets [2,6] overlap tensor "a"`},
		{"gap between tensors", rawFile(`{`+entry("a", "U8", "[2]", "[0,2]")+`,`+entry("b", "U8", "[2]", "[4,6]")+`}`, make([]byte, 6)), `"b": gap of 2 bytes`},
		{"gap at start", rawFile(`{`+entry("a", "U8", "[2]", "[1,3]")+`}`, make([]byte, 3)), "gap of 1 bytes"},
		{"trailing bytes", rawFile(`{`+entry("a", "U8", "[2]", "[0,2]")+`}`, make([]byte, 5)), "gap: 3 unused bytes"},
		{"duplicate name", rawFile(`{`+entry("a", "U8", "[1]", "[0,1]")+`,`+entry("a", "U8", "[1]", "[1,2]")+`}`, make([]byte, 2)), `duplicate name "a"`},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate name"},
		{"empty tensor name", rawFile(`{`+entry("", "U8", "[0]", "[0,0]")+`}`, nil), "empty tensor name"},
		{"metadata value not string", rawFile(`{"__metadata__":{"step":12}}`, nil), `value of "step" is not a string`},
		{"metadata value null", rawFile(`{"__metadata__":{"step":null}}`, nil), "not a string"},
		{"metadata not object", rawFile(`{"__metadata__":"x"}`, nil), "object of strings"},
		{"flipped byte in data", flipped, "checksum mismatch: file is corrupted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(tc.file, "bad.safetensors")
			if err == nil {
				t.Fatalf("decoded %+v, want error containing %q", f, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "checkpoint bad.safetensors: ") {
				t.Fatalf("err = %q, want it to name the file and contain %q", msg, tc.want)
			}
		})
	}
}

func TestReadRejectsTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	good := encodeBytes(t, &File{Tensors: []Tensor{Float32s("w", []int{4}, []float32{1, 2, 3, 4})}})
	hdrEnd := 8 + int(binary.LittleEndian.Uint64(good))
	for _, cut := range []int{0, 3, 7, 8, 12, hdrEnd - 1, hdrEnd, hdrEnd + 1, len(good) - 1} {
		p := filepath.Join(dir, "ckpt.safetensors")
		if err := os.WriteFile(p, good[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), p) {
			t.Errorf("cut at %d of %d: err = %v, want truncated naming %s", cut, len(good), err, p)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestAccessorsRejectWrongDType(t *testing.T) {
	u := Bytes("rng", []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if _, err := u.AsFloat32s(); err == nil || !strings.Contains(err.Error(), `tensor "rng": dtype is U8, want F32`) {
		t.Errorf("AsFloat32s: %v", err)
	}
	if _, err := u.AsFloat64s(); err == nil || !strings.Contains(err.Error(), "want F64") {
		t.Errorf("AsFloat64s: %v", err)
	}
	if _, err := u.AsInt64s(); err == nil || !strings.Contains(err.Error(), "want I64") {
		t.Errorf("AsInt64s: %v", err)
	}
	bad := Tensor{Name: "w", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}
	if _, err := bad.AsFloat32s(); err == nil || !strings.Contains(err.Error(), "needs 12 bytes") {
		t.Errorf("AsFloat32s on short data: %v", err)
	}
}

func TestFloat32IntoChecksNameDTypeAndShape(t *testing.T) {
	f, err := Decode(encodeBytes(t, &File{Tensors: []Tensor{
		Float32s("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		Int64s("step", []int{1}, []int64{5}),
	}}), "m.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 6)
	if err := f.Float32Into("w", []int{2, 3}, dst); err != nil || !slices.Equal(dst, []float32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("Float32Into = %v, %v", dst, err)
	}
	tests := []struct {
		name, tensor string
		shape        []int
		dst          []float32
		want         string
	}{
		{"missing tensor", "v", []int{2, 3}, dst, `checkpoint m.safetensors: tensor "v": missing`},
		{"dtype mismatch", "step", []int{1}, dst[:1], "dtype is I64, want F32"},
		{"shape mismatch", "w", []int{3, 2}, dst, "shape mismatch: file has [2 3], want [3 2]"},
		{"shape same size but rank differs", "w", []int{6}, dst, "shape mismatch"},
		{"destination too small", "w", []int{2, 3}, dst[:5], "destination holds 5 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Float32Into(tc.tensor, tc.shape, tc.dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWriteAtomicWritesReadableFileWithoutLeftovers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ckpt-000010.safetensors")
	for step, v := range []float32{1, 2} { // second write overwrites the first
		want := &File{Metadata: map[string]string{"v": "x"}, Tensors: []Tensor{Float32s("w", []int{1}, []float32{v})}}
		if err := WriteAtomic(p, want); err != nil {
			t.Fatalf("write %d: %v", step, err)
		}
		got, err := Read(p)
		if err != nil {
			t.Fatalf("write %d: %v", step, err)
		}
		if !sameTensors(got.Tensors, want.Tensors) || got.Metadata["v"] != "x" {
			t.Fatalf("write %d: read back %+v", step, got)
		}
		if left := tmpFiles(t, dir); len(left) != 0 {
			t.Fatalf("write %d: temp files remain: %v", step, left)
		}
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v", fi.Mode(), err)
	}
}

func TestWriteAtomicFailsForMissingDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "ckpt.safetensors")
	err := WriteAtomic(p, &File{})
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want an error naming %s", err, p)
	}
}

func TestWriteAtomicLeavesExistingFileOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ckpt.safetensors")
	if err := WriteAtomic(p, &File{Tensors: []Tensor{Bytes("a", []byte{1})}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	err := WriteAtomic(p, &File{Tensors: []Tensor{{Name: "bad", DType: F32, Shape: []int{2}, Data: make([]byte, 3)}}})
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `tensor "bad"`) {
		t.Fatalf("err = %v, want an error naming path and tensor", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("existing file was modified")
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files remain: %v", left)
	}
}

func TestPruneKeepsNewestByName(t *testing.T) {
	dir := t.TempDir()
	names := []string{"ckpt-000300.safetensors", "ckpt-000100.safetensors", "ckpt-001000.safetensors", "ckpt-000200.safetensors", "other.safetensors", ".ckpt-000400.safetensors.123.tmp"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "ckpt-999999.safetensors"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []int{0, -1, 4, 10} {
		if removed, err := Prune(dir, "ckpt-*.safetensors", keep); err != nil || len(removed) != 0 {
			t.Fatalf("keep=%d removed %v, %v", keep, removed, err)
		}
	}
	removed, err := Prune(dir, "ckpt-*.safetensors", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "ckpt-000100.safetensors"), filepath.Join(dir, "ckpt-000200.safetensors")}
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	wantLeft := []string{".ckpt-000400.safetensors.123.tmp", "ckpt-000300.safetensors", "ckpt-001000.safetensors", "ckpt-999999.safetensors", "other.safetensors"}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left %v, want %v", left, wantLeft)
	}
	if _, err := Prune(dir, "[", 1); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestNewestReturnsLexicallyGreatestMatch(t *testing.T) {
	dir := t.TempDir()
	if p, err := Newest(dir, "ckpt-*.safetensors"); p != "" || err != nil {
		t.Fatalf("empty dir: %q, %v", p, err)
	}
	for _, n := range []string{"ckpt-000020.safetensors", "ckpt-000100.safetensors", "ckpt-000003.safetensors", "zzz.safetensors"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := Newest(dir, "ckpt-*.safetensors"); p != filepath.Join(dir, "ckpt-000100.safetensors") || err != nil {
		t.Errorf("Newest = %q, %v", p, err)
	}
	if _, err := Newest(filepath.Join(dir, "missing"), "*"); err == nil {
		t.Error("missing dir: no error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeBytes(f, &File{Metadata: map[string]string{"k": "v"}, Tensors: []Tensor{
		Float32s("w", []int{2, 2}, []float32{1, 2, 3, 4}), Bytes("b", []byte{1}), Int64s("s", nil, []int64{3}),
	}}))
	f.Add(encodeBytes(f, &File{}))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{1, 2}))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, []byte{1, 2, 3}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := slices.Clone(data)
		f1, err := Decode(data, "fuzz")
		if !bytes.Equal(in, data) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, f1); err != nil {
			t.Fatalf("Encode of a decoded file failed: %v", err)
		}
		f2, err := Decode(b.Bytes(), "fuzz-reencoded")
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !sameTensors(f1.Tensors, f2.Tensors) {
			t.Fatalf("tensors changed:\n%+v\n%+v", f1.Tensors, f2.Tensors)
		}
		for k, v := range f1.Metadata {
			if k != ChecksumKey && f2.Metadata[k] != v {
				t.Fatalf("metadata %q changed: %q -> %q", k, v, f2.Metadata[k])
			}
		}
	})
}
