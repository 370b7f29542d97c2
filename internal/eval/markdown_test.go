package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMarkdownTablesFromRecordFiles(t *testing.T) {
	dir := t.TempDir()
	img := `{"model":"cgan","checkpoint":"runs/x/ckpt-00000010.safetensors","step":10,"n":100,"fid":12.5,"precision":0.8,"recall":0.6,"density":0.9,"coverage":0.7,"classes_covered":10,"class_accuracy":0.97,"speed":{"nfe":1,"seconds_per_100":0.5},"real_floor":{"n":100,"fid":3,"precision":0.9,"recall":0.9,"density":1,"coverage":0.95,"classes_covered":10},"hardware":{}}`
	mode := `{"model":"ddpm2d","modes":{"dataset":"ring8","n":2500,"components":8,"captured":8,"high_quality":0.975,"reverse_kl":0.01,"well_covered":8},"speed":{"nfe":200,"seconds_per_100":0.3},"hardware":{}}`
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(img+"\n"), 0o644)
	diff := `{"model":"ddpm","unconditional":true,"n":100,"fid":20,"precision":0.7,"recall":0.8,"density":0.9,"coverage":0.7,"classes_covered":10,"sampler":{"name":"dpmpp2m-sde","steps":20,"eta":0,"guidance":0,"spacing":"logsnr"},"speed":{"nfe":20,"seconds_per_100":2},"hardware":{}}`
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(mode+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(diff+"\n"), 0o644)
	recs, err := ReadRecords([]string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "c.json")})
	if err != nil || len(recs) != 3 {
		t.Fatalf("records: %v (%d)", err, len(recs))
	}
	var b strings.Builder
	MarkdownTables(&b, recs, func(string, int) float64 { return 600 })
	out := b.String()
	for _, want := range []string{
		"| cgan | one pass | 100 | 12.50 | 0.800 | 0.600 | 0.900 | 0.700 | 10 | 0.970 | 1 | 0.5 | 10 min (10 steps) |",
		"| real data (floor) | – | 100 | 3.00 |",
		"| ddpm (no class) | SDE-DPM++2M-20 logsnr | 100 | 20.00 | 0.700 | 0.800 | 0.900 | 0.700 | 10 | – | 20 | 2 | – |",
		"| ring8 | ddpm2d | 8 / 8 | 97.5 | 0.010 | 8 | 200 | 0.3 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
	// A Stacked-MNIST record has neither FID nor 2-D modes: it gets its own
	// table (before, `gentri report` printed nothing for it).
	stacked := `{"model":"ddpm","step":6000,"sampler":{"name":"ddpm","steps":20,"eta":0,"guidance":0},"stacked_modes":{"n":10000,"modes":894,"of":1000,"kl":1.19},"stacked_modes_floor":{"n":10000,"modes":1000,"of":1000,"kl":0.054},"speed":{"nfe":20,"seconds_per_100":5.4},"hardware":{}}`
	os.WriteFile(filepath.Join(dir, "d.json"), []byte(stacked+"\n"), 0o644)
	recs, err = ReadRecords([]string{filepath.Join(dir, "d.json")})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	MarkdownTables(&b, recs, nil)
	for _, want := range []string{
		"| ddpm | 6000 | 20 steps | 10000 | 894 / 1000 | 1.190 | 20 | 5.4 |",
		"| real data (floor) | – | – | 10000 | 1000 / 1000 | 0.054 | – | – |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Stacked-MNIST table lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := ReadRecords([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Fatal("a missing record file was accepted")
	}
}
