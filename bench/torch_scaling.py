#!/usr/bin/python3
"""One point of the DDPM's scaling table (scripts/scaling.sh, `make scaling`) in PyTorch: the
reference's U-Net (torch_reference.py) at a given batch size and base width, one training step
(epsilon prediction, the simple MSE, Adam, EMA; the default config's other settings) timed as
gentri's BenchmarkScalingDDPMStep times it: the median of --steps timed steps after --warmup
untimed ones. It prints one JSON line; scaling.sh runs each point in its own process, so the
process's peak RSS is that point's.

Usage: torch_scaling.py --batch 64 --width 16 [--steps 3] [--warmup 1] [--threads 2]
Needs Debian's PyTorch (apt-get install -y python3-torch); run it with /usr/bin/python3.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from torch_reference import DDPM, DEFAULT_CONFIGS, ddpm_train_step, emit, load_configs, n_params  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, required=True, help="images a training step")
    ap.add_argument("--width", type=int, required=True, help="the U-Net's base channels C (a multiple of 8)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help="gentri's configs folder (default: the repo's)")
    a = ap.parse_args(argv)
    if a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.threads < 1:
        ap.error("--batch, --steps and --threads must be at least 1, --warmup at least 0")
    if a.width < 8 or a.width % 8:
        ap.error("--width %d: the U-Net's width must be a positive multiple of its 8 GroupNorm groups" % a.width)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfgs = load_configs(a.configs)
    train = cfgs["ddpm"]["train"]
    ddpm = DDPM(a.width, cfgs["ddpm"]["model"]["classes"])
    batch = a.batch
    step, _ = ddpm_train_step(ddpm, train, batch)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    emit(what="ddpm_scaling_step", batch=batch, width=a.width, params=n_params(ddpm.net),
         ms=times[len(times) // 2] * 1e3)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print("torch_scaling.py: %s" % e, file=sys.stderr)
        sys.exit(1)
