// Package checkpoint reads and writes safetensors files
// (https://huggingface.co/docs/safetensors). It knows tensors, not models:
// callers map their parameters to named tensors. Files carry a SHA-256 of the
// data section in their metadata so silent corruption of weights is caught on
// reading, reading is strict so a damaged file never half-loads, and writes are
// atomic so a crash mid-save never destroys the previous checkpoint.
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// DType is a safetensors dtype string, spelled exactly as the spec does so
// PyTorch and other readers understand it.
type DType string

// The dtypes gentri produces.
const (
	F32 DType = "F32"
	F64 DType = "F64"
	I32 DType = "I32"
	I64 DType = "I64"
	U8  DType = "U8"
)

// ChecksumKey is the metadata key holding the lowercase hex SHA-256 of the data section.
const ChecksumKey = "gentri.sha256"

// maxHeader bounds the JSON header so a corrupt length prefix cannot make us
// trust (or allocate) an absurd size; the reference implementation uses the same limit.
const maxHeader = 100 << 20

// dtypeSize lists every whole-byte dtype the spec defines, so files written by
// other tools decode even though gentri itself only writes the constants above.
var dtypeSize = map[DType]int{
	"BOOL": 1, U8: 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	I32: 4, "U32": 4, F32: 4,
	I64: 8, "U64": 8, F64: 8,
}

// Tensor is one named array. Data is little-endian and
// len(Data) == product(Shape) * size(DType); Encode enforces that.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// byteLen returns product(shape)*size(dt), rejecting unknown dtypes, negative
// dimensions and products that overflow int (a hostile header could claim any shape).
func byteLen(shape []int, dt DType) (int, error) {
	size, ok := dtypeSize[dt]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", dt)
	}
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := uint64(size)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n = lo
	}
	return int(n), nil
}

// validate checks the invariants a reader of the file will rely on.
func (t Tensor) validate() error {
	if t.Name == "" || t.Name == "__metadata__" {
		return fmt.Errorf("invalid tensor name %q", t.Name)
	}
	n, err := byteLen(t.Shape, t.DType)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data has %d", t.Name, t.Shape, t.DType, n, len(t.Data))
	}
	return nil
}

// Float32s encodes v as an F32 tensor (copying shape and values).
func Float32s(name string, shape []int, v []float32) Tensor {
	return pack(name, F32, shape, v, func(b []byte, x float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(x)) })
}

// Float64s encodes v as an F64 tensor (copying shape and values).
func Float64s(name string, shape []int, v []float64) Tensor {
	return pack(name, F64, shape, v, func(b []byte, x float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(x)) })
}

// Int64s encodes v as an I64 tensor (copying shape and values).
func Int64s(name string, shape []int, v []int64) Tensor {
	return pack(name, I64, shape, v, func(b []byte, x int64) { binary.LittleEndian.PutUint64(b, uint64(x)) })
}

// Bytes wraps v (copied) as a 1-D U8 tensor, e.g. for RNG state or configs.
func Bytes(name string, v []byte) Tensor {
	return Tensor{Name: name, DType: U8, Shape: []int{len(v)}, Data: slices.Clone(v)}
}

func pack[T any](name string, dt DType, shape []int, v []T, put func([]byte, T)) Tensor {
	size := dtypeSize[dt]
	b := make([]byte, size*len(v))
	for i, x := range v {
		put(b[size*i:], x)
	}
	return Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), Data: b}
}

// unpack checks dtype and length before decoding, so a wrong accessor is an
// error rather than garbage numbers.
func unpack[T any](t Tensor, dt DType, get func([]byte) T) ([]T, error) {
	if t.DType != dt {
		return nil, fmt.Errorf("checkpoint: tensor %q: dtype is %s, want %s", t.Name, t.DType, dt)
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	size := dtypeSize[dt]
	v := make([]T, len(t.Data)/size)
	for i := range v {
		v[i] = get(t.Data[size*i:])
	}
	return v, nil
}

func getFloat32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// AsFloat32s decodes an F32 tensor.
func (t Tensor) AsFloat32s() ([]float32, error) { return unpack(t, F32, getFloat32) }

// AsFloat64s decodes an F64 tensor.
func (t Tensor) AsFloat64s() ([]float64, error) {
	return unpack(t, F64, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
}

// AsInt64s decodes an I64 tensor.
func (t Tensor) AsInt64s() ([]int64, error) {
	return unpack(t, I64, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
}

// File is the content of one safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor // in file order

	name string // set by Decode/Read so lookup errors name the file
}

// Get returns the tensor called name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Float32Into copies tensor name into dst, checking dtype, and that the shape
// equals want exactly: loading weights into a model of a different
// architecture must fail loudly, not reinterpret the numbers.
func (f *File) Float32Into(name string, want []int, dst []float32) error {
	t, ok := f.Get(name)
	if !ok {
		return fmt.Errorf("checkpoint %s: tensor %q: missing", f.name, name)
	}
	if t.DType != F32 {
		return fmt.Errorf("checkpoint %s: tensor %q: dtype is %s, want F32", f.name, name, t.DType)
	}
	if !slices.Equal(t.Shape, want) {
		return fmt.Errorf("checkpoint %s: tensor %q: shape mismatch: file has %v, want %v", f.name, name, t.Shape, want)
	}
	if err := t.validate(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", f.name, err)
	}
	if len(dst) != len(t.Data)/4 {
		return fmt.Errorf("checkpoint %s: tensor %q: destination holds %d values, tensor has %d", f.name, name, len(dst), len(t.Data)/4)
	}
	for i := range dst {
		dst[i] = getFloat32(t.Data[4*i:])
	}
	return nil
}

// Encode writes the safetensors bytes. It adds metadata key "gentri.sha256" =
// lowercase hex SHA-256 of the data section (everything after the header), so
// corruption of the weights is detected on reading. f is not modified.
func Encode(w io.Writer, f *File) error {
	if err := encode(w, f); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// encode returns errors without the "checkpoint" prefix so callers can add the path.
func encode(w io.Writer, f *File) error {
	h := sha256.New()
	seen := make(map[string]bool, len(f.Tensors))
	for _, t := range f.Tensors {
		if err := t.validate(); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("tensor %q: duplicate name", t.Name)
		}
		seen[t.Name] = true
		h.Write(t.Data)
	}
	meta := maps.Clone(f.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[ChecksumKey] = hex.EncodeToString(h.Sum(nil))

	var hdr bytes.Buffer
	mj, err := json.Marshal(meta) // sorted keys: identical inputs give identical files
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	hdr.WriteString(`{"__metadata__":`)
	hdr.Write(mj)
	off := 0
	for _, t := range f.Tensors {
		nj, err := json.Marshal(t.Name)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		hdr.WriteByte(',')
		hdr.Write(nj)
		hdr.WriteString(`:{"dtype":"` + string(t.DType) + `","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, off+len(t.Data))
		off += len(t.Data)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 { // the 8-byte prefix plus this keeps the data 8-byte aligned
		hdr.WriteByte(' ')
	}
	if hdr.Len() > maxHeader {
		return fmt.Errorf("header of %d bytes exceeds the %d-byte limit", hdr.Len(), maxHeader)
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(hdr.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, t := range f.Tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// entry is one tensor as the header describes it.
type entry struct {
	t          Tensor
	begin, end int
}

// Decode parses and validates a safetensors file; name is used in messages.
// The returned tensors' Data alias data (so decoding allocates little beyond
// the header); do not modify data afterwards. Tensors are in data_offsets order.
func Decode(data []byte, name string) (*File, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("checkpoint %s: %s", name, fmt.Sprintf(format, a...))
	}
	if len(data) < 8 {
		return nil, fail("truncated: %d bytes, need 8 for the header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n < 2 || n > maxHeader {
		return nil, fail("header length %d is absurd (want 2..%d)", n, maxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fail("truncated: header claims %d bytes, only %d follow", n, len(data)-8)
	}
	header, buf := data[8:8+n], data[8+n:]
	if !utf8.Valid(header) {
		return nil, fail("header is not valid UTF-8")
	}
	if !json.Valid(header) {
		return nil, fail("header is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, fail("header is not a JSON object")
	}
	f := &File{name: name, Metadata: map[string]string{}}
	seen := map[string]bool{}
	var ents []entry
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return nil, fail("header is not valid JSON")
		}
		if seen[key] {
			return nil, fail("duplicate name %q in header", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fail("header is not valid JSON: %v", err)
		}
		if key == "__metadata__" {
			if err := decodeMetadata(raw, f.Metadata); err != nil {
				return nil, fail("__metadata__: %v", err)
			}
			continue
		}
		e, err := decodeEntry(key, raw)
		if err != nil {
			return nil, fail("%v", err)
		}
		ents = append(ents, e)
	}

	// Check that the tensors tile the data section exactly, as the spec requires.
	slices.SortStableFunc(ents, func(a, b entry) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return a.end - b.end
	})
	if len(ents) > 0 && ents[len(ents)-1].end > len(buf) {
		return nil, fail("truncated: tensors need %d data bytes, file has %d", ents[len(ents)-1].end, len(buf))
	}
	pos := 0
	for i, e := range ents {
		if e.begin < pos {
			return nil, fail("tensor %q: data_offsets [%d,%d] overlap tensor %q", e.t.Name, e.begin, e.end, ents[i-1].t.Name)
		}
		if e.begin > pos {
			return nil, fail("tensor %q: gap of %d bytes before data_offsets [%d,%d]", e.t.Name, e.begin-pos, e.begin, e.end)
		}
		pos = e.end
		e.t.Data = buf[e.begin:e.end:e.end]
		f.Tensors = append(f.Tensors, e.t)
	}
	if pos != len(buf) {
		return nil, fail("gap: %d unused bytes after the last tensor", len(buf)-pos)
	}
	if want, ok := f.Metadata[ChecksumKey]; ok {
		sum := sha256.Sum256(buf)
		if hex.EncodeToString(sum[:]) != want {
			return nil, fail("checksum mismatch: file is corrupted")
		}
	}
	return f, nil
}

// decodeMetadata insists on an object of strings: null or numbers would not
// survive a round trip through other safetensors readers.
func decodeMetadata(raw json.RawMessage, dst map[string]string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return fmt.Errorf("must be an object of strings")
	}
	for k, v := range m {
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return fmt.Errorf("value of %q is not a string", k)
		}
		dst[k] = s
	}
	return nil
}

func decodeEntry(name string, raw json.RawMessage) (entry, error) {
	var e struct {
		DType   DType `json:"dtype"`
		Shape   []int `json:"shape"`
		Offsets []int `json:"data_offsets"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return entry{}, fmt.Errorf("tensor %q: bad header entry: %v", name, err)
	}
	t := Tensor{Name: name, DType: e.DType, Shape: e.Shape}
	if t.Shape == nil {
		return entry{}, fmt.Errorf("tensor %q: missing shape", name)
	}
	if name == "" {
		return entry{}, fmt.Errorf("empty tensor name")
	}
	size, err := byteLen(t.Shape, t.DType)
	if err != nil {
		return entry{}, fmt.Errorf("tensor %q: %v", name, err)
	}
	if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] {
		return entry{}, fmt.Errorf("tensor %q: data_offsets %v must be [begin, end] with 0 <= begin <= end", name, e.Offsets)
	}
	if got := e.Offsets[1] - e.Offsets[0]; got != size {
		return entry{}, fmt.Errorf("tensor %q: size mismatch: data_offsets span %d bytes, shape %v of %s needs %d", name, got, t.Shape, t.DType, size)
	}
	return entry{t: t, begin: e.Offsets[0], end: e.Offsets[1]}, nil
}
