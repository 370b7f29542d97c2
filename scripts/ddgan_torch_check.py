#!/usr/bin/python3
"""Checks that a gentri ddgan checkpoint is a PyTorch state_dict of the denoising diffusion GAN of
docs/models.md (Xiao, Kreis & Vahdat, ICLR 2022): loads its "G.", "D." and "ema." tensors into the
networks of the repo's PyTorch reference (bench/torch_reference.py: DDGAN, the shapes from the
checkpoint's stored config over configs/ddgan.yaml) with strict=True, and prints the outputs of G,
the EMA generator and D on a fixed input as JSON, for internal/models'
TestDDGANCheckpointLoadsIntoPyTorch to compare with gentri's own.

The fixed input, for rows i = 0..3 (nz the generator's latent size, T the diffusion's steps):
  x_{t+1}[j] = sin(0.1 j + i) (j over the 28x28 pixels), t = i mod T, y = i mod 10,
  z[k] = cos(0.3 k + i) (k < nz), PixelNorm'ed by the generator; D sees the pair (x0_hat, x_{t+1}).

Usage: scripts/ddgan_torch_check.py CKPT.safetensors
Needs Debian's PyTorch (apt-get install -y python3-torch); run it with /usr/bin/python3.
"""
import importlib.util
import json
import os
import sys

import torch

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "torch_reference.py")


def reference():
    spec = importlib.util.spec_from_file_location("torch_reference", REFERENCE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(path):
    kind, gan, weights = reference().load_checkpoint(path)
    if kind != "ddgan":
        raise ValueError("%s: a %r checkpoint, want a ddgan one" % (path, kind))
    i = torch.arange(4)
    x = torch.sin(0.1 * torch.arange(784)[None] + i[:, None]).reshape(4, 1, 28, 28)
    z = torch.cos(0.3 * torch.arange(gan.latent)[None] + i[:, None])
    t, y = i % gan.schedule.T, i % 10
    with torch.no_grad():
        out = {k: net(x, t, z, y) for k, net in (("G", gan.G), ("ema", gan.ema))}
        d = gan.D(torch.cat((out["G"], x), dim=1), t, y)
    print(json.dumps({"tensors_loaded": len(weights), "strict": True,
                      "G": out["G"].flatten().tolist(), "ema": out["ema"].flatten().tolist(), "D": d.tolist()}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        main(sys.argv[1])
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print("ddgan_torch_check.py: %s" % e, file=sys.stderr)
        sys.exit(1)
