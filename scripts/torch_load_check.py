#!/usr/bin/python3
"""Checks that a gentri VAE checkpoint is a PyTorch state_dict: loads it into the VAE module of the
repo's PyTorch reference (bench/torch_reference.py; GENTRI_PEER names another) by name (strict),
then reconstructs the test images of a `gentri sample --recon` grid with PyTorch and compares them
with gentri's reconstructions in the same grid.

Usage: scripts/torch_load_check.py CKPT.safetensors RECON.png
  where RECON.png = gentri sample --checkpoint CKPT --recon --n 32 --cols 2 --out RECON.png
Needs Debian's python3-torch and python3-pil (the safetensors format is read here directly).
Prints the largest difference in grey levels (0..255); 1 is PNG rounding."""
import importlib.util, json, struct, sys, os
import numpy as np
import torch
from PIL import Image

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "U8": torch.uint8}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:end]), dtype=dt[e["dtype"]]).reshape(e["shape"])
    return header.get("__metadata__", {}), out

def main():
    meta, tensors = read_safetensors(sys.argv[1])
    assert meta["gentri.kind"] == "vae", meta["gentri.kind"]
    ref = os.environ.get("GENTRI_PEER", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "torch_reference.py"))
    spec = importlib.util.spec_from_file_location("torch_reference", ref)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    vae = mod.VAE()
    sd = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "train."))}
    vae.load_state_dict(sd, strict=True)
    grid = np.asarray(Image.open(sys.argv[2]).convert("L"), dtype=np.float32)
    pad, size = 2, 28
    rows = (grid.shape[0] - pad) // (size + pad)
    cell = lambda r, c: grid[pad + r * (size + pad):pad + r * (size + pad) + size, pad + c * (size + pad):pad + c * (size + pad) + size]
    worst = 0.0
    for r in range(rows):
        x, ours = cell(r, 0), cell(r, 1)
        if x.max() == 128 and x.min() == 128:  # an empty cell of the last row
            continue
        with torch.no_grad():
            mu = vae.enc(torch.from_numpy(x.reshape(1, 784) / 255))[:, :20]
            theirs = torch.sigmoid(vae.dec(mu)).numpy().reshape(28, 28) * 255
        worst = max(worst, float(np.abs(np.round(theirs) - ours).max()))
    print(json.dumps({"tensors_loaded": len(sd), "strict": True, "images": rows, "max_grey_level_difference": worst}))

if __name__ == "__main__":
    main()
