#!/usr/bin/env python3
"""Summarise a `make bench` run: medians, the gentri/PyTorch table and .bench/bench.json.

Usage: bench_table.py RAW_DIR OUT_JSON key=value...
RAW_DIR holds what scripts/bench.sh wrote each round:
  go-<i>-<model>.txt        `go test -bench` output (lines "BenchmarkX-2  N  ns/op  v unit ...")
  peer-<i>.jsonl            the PyTorch reference's JSON lines ({"what": ..., "ms": ...})
  time-go-<i>-<model>.txt   /usr/bin/time -v of that model's Go benchmark process (optional)
  time-peer-<i>-<model>.txt /usr/bin/time -v of that model's PyTorch process (optional)
The key=value pairs (date, cpu, blas, models, ...) are copied into the JSON as they are; models
(space-separated) names the peak-RSS rows, one per model; go_benchtime and peer_steps, given per
model as "model:value ...", become {model: value} objects.
Standard library only, any Python 3.
"""
import glob, json, os, re, statistics, sys

# One row per measurement: (label, Go benchmark, its ms metric, bench/torch_reference.py's "what").
# Add a row here when a model gets benchmarks; peer None = no PyTorch counterpart.
ROWS = [
    ("vae train step (batch 128)", "VAETrainStep", "ms/step", "vae_train_step"),
    ("vae sample 1000", "VAESample1000", "ms/1000samples", "vae_sample"),
    ("cgan train step (batch 64)", "CGANTrainStep", "ms/step", "cgan_train_step"),
    ("cgan sample 1000", "CGANSample1000", "ms/1000samples", "cgan_sample"),
    ("ddpm train step (batch 64)", "DDPMTrainStep", "ms/step", "ddpm_train_step"),
    ("ddpm network evaluation (batch 64)", "DDPMNFE64", "ms/nfe", "ddpm_nfe_batch64"),
    ("ddgan train step (batch 64)", "DDGANTrainStep", "ms/step", "ddgan_train_step"),
    ("ddgan sample 1000", "DDGANSample1000", "ms/1000samples", "ddgan_sample"),
]


def median(xs):
    return statistics.median(xs) if xs else None


def go_results(raw):
    """{bench name without "Benchmark" and -P: {unit: [value per run]}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(raw, "go-*.txt"))):
        for line in open(path):
            f = line.split()
            if not f or not f[0].startswith("Benchmark") or len(f) < 4:
                continue
            name = re.sub(r"-\d+$", "", f[0][len("Benchmark"):])
            m = out.setdefault(name, {})
            for v, unit in zip(f[2::2], f[3::2]):
                try:
                    m.setdefault(unit, []).append(float(v))
                except ValueError:
                    pass
    return out


def peer_results(raw):
    """{what: [ms per round]}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(raw, "peer-*.jsonl"))):
        for line in open(path):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if "what" in o and "ms" in o:
                out.setdefault(o["what"], []).append(float(o["ms"]))
    return out


def peak_rss_kb(raw, who, model):
    vals = []
    for path in glob.glob(os.path.join(raw, "time-%s-*-%s.txt" % (who, model))):
        for line in open(path):
            if "Maximum resident set size" in line:
                vals.append(int(line.rsplit(":", 1)[1]))
    return max(vals) if vals else None


def fmt(v, nd=1):
    return "n/a" if v is None else "%.*f" % (nd, v)


def main():
    raw, out_json = sys.argv[1], sys.argv[2]
    meta = dict(a.split("=", 1) for a in sys.argv[3:])
    go, peer = go_results(raw), peer_results(raw)

    rows, seen = [], set()
    for label, bench, unit, what in ROWS:
        if bench not in go:
            continue
        seen.add(bench)
        g = median(go[bench].get(unit, []))
        p = median(peer.get(what, [])) if what else None
        rows.append({"measurement": label, "go_benchmark": "Benchmark" + bench, "gentri_ms": g,
                     "gentri_runs": go[bench].get(unit, []), "peer_what": what, "peer_ms": p,
                     "peer_runs": peer.get(what, []) if what else [],
                     "ratio_gentri_over_peer": g / p if g and p else None})
    for bench in sorted(set(go) - seen):  # benchmarks without a row: ns/op only
        runs = [v / 1e6 for v in go[bench].get("ns/op", [])]
        rows.append({"measurement": bench, "go_benchmark": "Benchmark" + bench, "gentri_ms": median(runs),
                     "gentri_runs": runs, "peer_what": None, "peer_ms": None, "peer_runs": [],
                     "ratio_gentri_over_peer": None})

    # Peak RSS of each model's process (its training step and sampling batch), both sides.
    models = meta.get("models", "vae cgan ddpm ddgan").split()
    rss = {m: {"gentri_kb": peak_rss_kb(raw, "go", m), "peer_kb": peak_rss_kb(raw, "peer", m)} for m in models}
    mb = lambda kb: None if kb is None else kb / 1024

    head = ("measurement", "gentri ms", "PyTorch ms", "ratio gentri/PyTorch")
    body = [(r["measurement"], fmt(r["gentri_ms"]), fmt(r["peer_ms"]), fmt(r["ratio_gentri_over_peer"], 2))
            for r in rows]
    for m in models:
        g, p = rss[m]["gentri_kb"], rss[m]["peer_kb"]
        body.append(("%s peak RSS, MiB (not ms)" % m, fmt(mb(g), 0), fmt(mb(p), 0), fmt(g / p, 2) if g and p else "n/a"))
    w = [max(len(r[i]) for r in [head] + body) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in body:
        print(line(r))

    # Every other figure the Go benchmarks reported (examples/s, samples/s, ns/op), as medians.
    go_all = {b: {u: {"median": median(v), "runs": v} for u, v in m.items()} for b, m in go.items()}
    doc = dict(meta)
    doc.update({"rows": rows, "go_benchmarks": go_all, "peer": {k: {"median": median(v), "runs": v}
                                                                 for k, v in peer.items()},
                "peak_rss": rss})
    number = lambda v: int(v) if str(v).isdigit() else v
    for k in ("gomaxprocs", "num_cpu", "peer_threads", "peer_steps", "rounds", "go_count", "elapsed_s"):
        if k in doc:
            doc[k] = number(doc[k])
    for k in ("go_benchtime", "peer_steps"):
        if ":" in str(doc.get(k, "")):
            doc[k] = {m: number(v) for m, _, v in (pair.partition(":") for pair in doc[k].split())}
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
