package data

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CIFAR-10's binary format (https://www.cs.toronto.edu/~kriz/cifar.html):
// each batch file is a run of 3073-byte records, a label byte (0-9) and a
// 32x32 RGB image as 1024 red, 1024 green, then 1024 blue bytes, row-major.
const (
	cifarSide   = 32
	cifarRecord = 1 + 3*cifarSide*cifarSide
)

// cifarClasses are CIFAR-10's class names, used when the folder has no
// batches.meta.txt.
var cifarClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// loadCIFARSet reads data_batch_*.bin (sorted by name) as the training split
// and test_batch.bin as the test split (the held-out tenth of the training
// batches when it is missing). Each image goes through Resize to the
// models' shape: kept RGB with 3 channels, turned grey with 1.
func loadCIFARSet(dir string, o LoadOptions) (*Set, error) {
	if o.Height <= 0 || o.Width <= 0 {
		return nil, fmt.Errorf("data %s: CIFAR-10 needs the models' image size to be resized to", dir)
	}
	batches, _ := filepath.Glob(filepath.Join(dir, "data_batch_*.bin"))
	sort.Strings(batches)
	if len(batches) == 0 {
		return nil, fmt.Errorf("data %s: CIFAR-10 folder without training batches (data_batch_*.bin)", dir)
	}
	skipped := 0
	read := func(paths []string) (*Dataset, error) {
		d := &Dataset{C: o.channels(), H: o.Height, W: o.Width}
		for _, p := range paths {
			if err := readCIFARFile(p, d); err != nil {
				if o.SkipBad {
					skipped++
					continue
				}
				return nil, fmt.Errorf("%w (--skip-bad leaves such files out)", err)
			}
		}
		return d, nil
	}
	train, err := read(batches)
	if err != nil {
		return nil, err
	}
	s := &Set{Train: train, Info: Info{Kind: KindCIFAR, Classes: cifarClasses}}
	testPath := filepath.Join(dir, "test_batch.bin")
	if _, err := os.Stat(testPath); err == nil {
		if s.Test, err = read([]string{testPath}); err != nil {
			return nil, err
		}
	}
	if s.Test == nil || s.Test.N == 0 {
		s.Train, s.Test = SplitTenth(train)
		s.Info.HeldOut = true
	}
	if s.Train.N == 0 || s.Test.N == 0 {
		return nil, fmt.Errorf("data %s: too few readable CIFAR-10 images (%d; %d files skipped)", dir, train.N, skipped)
	}
	if names, err := readCIFARMeta(filepath.Join(dir, "batches.meta.txt")); err != nil {
		return nil, err
	} else if names != nil {
		s.Info.Classes = names
	}
	s.Info.Skipped = skipped
	return s, nil
}

// readCIFARFile appends one batch file's images to d. The whole file is
// checked before anything is appended, so a bad file leaves d unchanged.
func readCIFARFile(path string, d *Dataset) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("CIFAR-10 batch %w", err)
	}
	if len(raw) == 0 || len(raw)%cifarRecord != 0 {
		return fmt.Errorf("CIFAR-10 batch %s: %d bytes, not a whole number of %d-byte records (truncated or not a CIFAR-10 batch)", path, len(raw), cifarRecord)
	}
	n := len(raw) / cifarRecord
	for i := 0; i < n; i++ {
		if l := raw[i*cifarRecord]; l >= byte(len(cifarClasses)) {
			return fmt.Errorf("CIFAR-10 batch %s: record %d has label %d, want 0-9 (CIFAR-100's format is not supported)", path, i, l)
		}
	}
	for i := 0; i < n; i++ {
		rec := raw[i*cifarRecord : (i+1)*cifarRecord]
		img := image.NewRGBA(image.Rect(0, 0, cifarSide, cifarSide))
		plane := cifarSide * cifarSide
		for p := 0; p < plane; p++ {
			img.Pix[4*p+0] = rec[1+p]
			img.Pix[4*p+1] = rec[1+plane+p]
			img.Pix[4*p+2] = rec[1+2*plane+p]
			img.Pix[4*p+3] = 0xff
		}
		d.Pixels = append(d.Pixels, Resize(img, d.Channels(), d.H, d.W)...)
		d.Labels = append(d.Labels, rec[0])
		d.N++
	}
	return nil
}

// readCIFARMeta reads the class names of batches.meta.txt (one a line;
// nil when the file is absent).
func readCIFARMeta(path string) ([]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("CIFAR-10 class names: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("CIFAR-10 class names %s: %w", path, err)
	}
	if len(names) != len(cifarClasses) {
		return nil, fmt.Errorf("CIFAR-10 class names %s: %d names, want %d", path, len(names), len(cifarClasses))
	}
	return names, nil
}
