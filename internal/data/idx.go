// Package data reads the images models train on: the MNIST-family IDX
// files (found on disk without touching the network, so training runs work
// offline), CIFAR-10's binary batches and folders of PNG/JPEG images, each
// with an identity (Info) a checkpoint records; and the 2-D mixtures.
package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is one decoded IDX file (only element type 0x08, unsigned byte, is
// supported: MNIST and Fashion-MNIST).
type IDX struct {
	Dims []int  // e.g. [60000 28 28] or [60000]
	Data []byte // product(Dims) bytes, row-major
}

// maxIDXBytes caps the payload a header may announce, so a corrupt or hostile
// header yields an error instead of an enormous allocation. It stays below
// 1<<31 so the size fits an int on every platform.
const maxIDXBytes = 1<<31 - 1

// readChunk is the initial buffer size: the buffer grows only as data really
// arrives, so a header that lies about its size cannot force a big allocation.
const readChunk = 1 << 20

// ParseIDX decodes an IDX stream. name is used in error messages only. It
// accepts gzip-compressed input transparently, detected by the magic bytes
// 0x1f 0x8b rather than by the name.
func ParseIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt gzip stream: %w", name, err)
		}
		defer zr.Close()
		gr := &gzipErrReader{r: zr}
		idx, err := parseRaw(gr, name)
		if gr.err != nil {
			// The IDX-level message (e.g. "truncated") would hide the real cause.
			return nil, fmt.Errorf("%s: corrupt gzip stream: %w", name, gr.err)
		}
		return idx, err
	}
	return parseRaw(br, name)
}

// ReadIDXFile opens path and calls ParseIDX; errors name the path.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read IDX file: %w", err)
	}
	defer f.Close()
	return ParseIDX(f, path)
}

// gzipErrReader remembers the first decompression error, so a damaged gzip
// stream is reported as such and not as a short IDX file.
type gzipErrReader struct {
	r   io.Reader
	err error
}

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF && g.err == nil {
		g.err = err
	}
	return n, err
}

func parseRaw(r io.Reader, name string) (*IDX, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("%s: truncated header: want 4 magic bytes: %w", name, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: bad magic % x: first two bytes must be zero (not an IDX file?)", name, magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("%s: unsupported element type 0x%02X (only 0x08, unsigned byte, is supported)", name, magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%s: bad number of dimensions %d (want 1..4)", name, nd)
	}
	hdr := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%s: truncated header: want %d dimension sizes: %w", name, nd, err)
	}
	dims := make([]int, nd)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(hdr[4*i:]))
	}
	total := uint64(1)
	for i, d := range dims {
		if d == 0 {
			return nil, fmt.Errorf("%s: dimension %d of %v is zero", name, i, dims)
		}
		if total > maxIDXBytes/uint64(d) {
			return nil, fmt.Errorf("%s: data too large: dimensions %v exceed the %d-byte limit", name, dims, maxIDXBytes)
		}
		total *= uint64(d)
	}
	data, err := readN(r, int(total))
	if err != nil {
		return nil, fmt.Errorf("%s: reading data: %w", name, err)
	}
	if len(data) < int(total) {
		return nil, fmt.Errorf("%s: truncated data: want %d bytes of data, file has %d", name, total, len(data))
	}
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return nil, fmt.Errorf("%s: trailing garbage after the %d data bytes", name, total)
	} else if err != io.EOF {
		return nil, fmt.Errorf("%s: reading past data: %w", name, err)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// readN reads up to n bytes, stopping early only at end of input; a short
// result with a nil error means the input ended.
func readN(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), n-len(buf)))
		}
		m, err := io.ReadFull(r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
