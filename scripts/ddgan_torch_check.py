#!/usr/bin/python3
"""Checks that a gentri ddgan checkpoint is a PyTorch state_dict of the denoising diffusion GAN of
docs/models.md (Xiao, Kreis & Vahdat, ICLR 2022): builds the generator and the discriminator here in
PyTorch, loads the checkpoint's "G.", "D." and "ema." tensors into them with strict=True, and prints
the outputs of G, the EMA generator and D on a fixed input as JSON, for internal/models'
TestDDGANCheckpointLoadsIntoPyTorch to compare with gentri's own.

The fixed input, for rows i = 0..3 (C the generator's width, nz its latent size):
  x_{t+1}[j] = sin(0.1 j + i) (j over the 28x28 pixels), t = i mod T, y = i mod 10,
  z[k] = cos(0.3 k + i) (k < nz), PixelNorm'ed by the generator; D sees the pair (x0_hat, x_{t+1}).

Usage: scripts/ddgan_torch_check.py CKPT.safetensors
Needs Debian's PyTorch (apt-get install -y python3-torch); run it with /usr/bin/python3.
"""
import json, math, struct, sys

import torch, torch.nn as nn, torch.nn.functional as F


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


def sinusoid(t, dim):
    half = dim // 2
    f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * f[None]
    return torch.cat([a.sin(), a.cos()], 1)


class AdaRes(nn.Module):  # Res with both GroupNorms adaptive: GN(h) (1 + a) + b, [a; b] = s(w)
    def __init__(self, cin, cout, tdim, groups=8):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin, affine=False)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(tdim, cout)
        self.n2 = nn.GroupNorm(groups, cout, affine=False)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.s1, self.s2 = nn.Linear(tdim, 2 * cin), nn.Linear(tdim, 2 * cout)

    @staticmethod
    def ada(h, ab):
        a, b = ab[:, :, None, None].chunk(2, 1)
        return h * (1 + a) + b

    def forward(self, x, temb, w):
        h = self.c1(F.silu(self.ada(self.n1(x), self.s1(w)))) + self.t(temb)[:, :, None, None]
        h = self.c2(F.silu(self.ada(self.n2(h), self.s2(w))))
        return h + self.skip(x)


class Gen(nn.Module):  # the U-Net of configs/ddpm.yaml with AdaGN, K class rows, a z mapping, tanh
    def __init__(self, ch, nz, ncls=10, mult=(1, 2, 4), groups=8):
        super().__init__()
        tdim = 4 * ch
        self.ch = ch
        self.temb = nn.Sequential(nn.Linear(ch, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.cemb = nn.Embedding(ncls, tdim)
        self.inc = nn.Conv2d(1, ch, 3, padding=1)
        self.down, skips, c = nn.ModuleList(), [ch], ch
        for i, m in enumerate(mult):
            self.down.append(AdaRes(c, ch * m, tdim, groups)); c = ch * m; skips.append(c)
            if i < len(mult) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1)); skips.append(c)
        self.mid = nn.ModuleList([AdaRes(c, c, tdim, groups), AdaRes(c, c, tdim, groups)])
        self.up = nn.ModuleList()
        for i, m in reversed(list(enumerate(mult))):
            for _ in range(2):
                self.up.append(AdaRes(c + skips.pop(), ch * m, tdim, groups)); c = ch * m
            if i > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)))
        self.out = nn.Sequential(nn.GroupNorm(groups, c), nn.SiLU(), nn.Conv2d(c, 1, 3, padding=1))
        self.zmap = nn.Sequential(nn.Linear(nz, tdim), nn.SiLU(), nn.Linear(tdim, tdim), nn.SiLU())

    def forward(self, x, t, z, y):
        temb = self.temb(sinusoid(t, self.ch)) + self.cemb(y)
        w = self.zmap(z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8))
        h = self.inc(x); hs = [h]
        for b in self.down:
            h = b(h, temb, w) if isinstance(b, AdaRes) else b(h); hs.append(h)
        for b in self.mid:
            h = b(h, temb, w)
        for b in self.up:
            h = b(torch.cat([h, hs.pop()], 1), temb, w) if isinstance(b, AdaRes) else b(h)
        return torch.tanh(self.out(h))


class Down(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.c1, self.t = nn.Conv2d(cin, cout, 3, padding=1), nn.Linear(tdim, cout)
        self.c2, self.skip = nn.Conv2d(cout, cout, 3, padding=1), nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x, temb):
        h = self.c1(F.leaky_relu(x, 0.2)) + self.t(temb)[:, :, None, None]
        h = self.c2(F.avg_pool2d(F.leaky_relu(h, 0.2), 2))
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class Disc(nn.Module):
    def __init__(self, ch, ncls=10):
        super().__init__()
        self.ch = ch
        self.temb = nn.Sequential(nn.Linear(ch, ch), nn.LeakyReLU(0.2), nn.Linear(ch, ch), nn.LeakyReLU(0.2))
        self.inc = nn.Conv2d(2, ch, 1)
        self.b1, self.b2 = Down(ch, ch, ch), Down(ch, 2 * ch, ch)
        self.final = nn.Conv2d(2 * ch, 2 * ch, 3, padding=1)
        self.fc, self.proj = nn.Linear(2 * ch, 1), nn.Embedding(ncls, 2 * ch)

    def forward(self, xt, xt1, t, y):
        temb = self.temb(sinusoid(t, self.ch))
        h = self.b2(self.b1(self.inc(torch.cat([xt, xt1], 1)), temb), temb)
        f = F.leaky_relu(self.final(h), 0.2).sum([2, 3])
        return self.fc(f).squeeze(1) + (self.proj(y) * f).sum(1)


def timesteps(meta):  # T from the metadata, or from the stored config's train.timesteps
    if "T" in meta:
        return int(meta["T"])
    for line in meta.get("gentri.config", "").splitlines():
        if line.strip().startswith("timesteps:"):
            return int(line.split(":")[1].split("#")[0])
    return 4


def main():
    meta, tensors = read_safetensors(sys.argv[1])
    assert meta["gentri.kind"] == "ddgan", meta["gentri.kind"]
    part = lambda p: {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
    G, D = part("G."), part("D.")
    ch, nz, dch, T = G["inc.weight"].shape[0], G["zmap.0.weight"].shape[1], D["inc.weight"].shape[0], timesteps(meta)
    nets = {"G": Gen(ch, nz), "ema": Gen(ch, nz), "D": Disc(dch)}
    for name, net in nets.items():
        net.load_state_dict(part(name + "."), strict=True)
    i = torch.arange(4)
    x = torch.sin(0.1 * torch.arange(784)[None] + i[:, None]).reshape(4, 1, 28, 28)
    z = torch.cos(0.3 * torch.arange(nz)[None] + i[:, None])
    t, y = i % T, i % 10
    with torch.no_grad():
        out = {k: nets[k](x, t, z, y) for k in ("G", "ema")}
        d = nets["D"](out["G"], x, t, y)
    print(json.dumps({"tensors_loaded": sum(len(part(n + ".")) for n in nets), "strict": True,
                      "G": out["G"].flatten().tolist(), "ema": out["ema"].flatten().tolist(), "D": d.tolist()}))


if __name__ == "__main__":
    main()
