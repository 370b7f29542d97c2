package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportPlot runs `gentri report --plot` on small records: a PNG and a
// note for each record left out on success, exit 2 and a message naming the
// problem on bad input.
func TestReportPlot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gan := write("cgan.json", `{"model":"cgan","n":100,"fid":17,"recall":0.75,"speed":{"seconds_per_100":0.04},"hardware":{}}`+"\n")
	ddpm := write("ddpm.json", `{"model":"ddpm","sampler":{"name":"ddim","steps":50},"n":100,"fid":35,"recall":0.9,"speed":{"seconds_per_100":16},"hardware":{}}`+"\n")
	mode := write("ring8.json", `{"model":"gan2d","modes":{"dataset":"ring8","components":8},"speed":{"seconds_per_100":0.1},"hardware":{}}`+"\n")
	bad := write("bad.json", "{not json\n")
	png := filepath.Join(dir, "fig.png")

	code, stdout, stderr := run(t, "report", "--plot", png, "--plot-title", "test figure", gan, ddpm, mode)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if w, h := decodePNG(t, png); w < 500 || h < 300 {
		t.Fatalf("figure is %dx%d", w, h)
	}
	if !strings.Contains(stderr, "left out "+mode+":1 (gan2d)") {
		t.Errorf("stderr does not note the 2-D record: %q", stderr)
	}
	if stdout != "" {
		t.Errorf("--plot without --out wrote tables to stdout: %q", stdout)
	}

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no records", []string{"report", "--plot", png}, exitUsage, "no record files"},
		{"missing record", []string{"report", "--plot", png, filepath.Join(dir, "nope.json")}, exitUsage, "nope.json"},
		{"malformed record", []string{"report", "--plot", png, bad}, exitUsage, "bad.json: line 1"},
		{"nothing to draw", []string{"report", "--plot", png, mode}, exitUsage, "no record with FID, recall and speed in " + mode},
		{"title without plot", []string{"report", "--plot-title", "x", gan}, exitUsage, "--plot-title needs --plot"},
		{"unwritable figure", []string{"report", "--plot", filepath.Join(dir, "no", "fig.png"), gan}, exitFailure, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if strings.Contains(stderr, "panic") {
				t.Fatalf("stderr shows a panic: %s", stderr)
			}
		})
	}
}

// TestReportOut checks that --out holds exactly the tables stdout shows,
// and that an --out that cannot be written fails with exit 1 and leaves no
// file behind (the report is written whole or not at all).
func TestReportOut(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "cgan.json")
	if err := os.WriteFile(rec, []byte(`{"model":"cgan","n":100,"fid":17,"recall":0.75,"speed":{"seconds_per_100":0.04},"hardware":{}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "report", rec)
	if code != exitOK || !strings.Contains(stdout, "17") {
		t.Fatalf("report to stdout: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "report.md")
	if code, _, stderr := run(t, "report", "--out", out, rec); code != exitOK {
		t.Fatalf("report --out: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != stdout {
		t.Errorf("--out holds %q (%v), stdout showed %q", b, err, stdout)
	}
	bad := filepath.Join(dir, "no", "report.md")
	if code, _, stderr := run(t, "report", "--out", bad, rec); code != exitFailure || !strings.Contains(stderr, "no such file") {
		t.Errorf("unwritable --out: exit %d, stderr %q; want exit %d naming the problem", code, stderr, exitFailure)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the folder holds %d entries, want the record and report.md only", len(entries))
	}
}
