#!/usr/bin/python3
"""gentri's default models written in PyTorch: the yardstick of `make bench`, and a check that gentri
checkpoints are PyTorch state_dicts.

The shapes come from the repository's configs (model: and train: sections), read at start-up, so
this file and the Go models describe one set of networks:

  vae   configs/vae.yaml   encoder 784 -> H -> H -> 2L (mu, log variance), decoder L -> H -> H -> 784
                           logits, ReLU between; Bernoulli likelihood + KL to N(0, I). H 512, L 20.
  cgan  configs/cgan.yaml  G: [z ++ Embedding(K, K)(y)] -> Linear -> (2C, 7, 7) -> BN, ReLU, nearest x2
                           -> Conv3x3 2C->C -> BN, ReLU, nearest x2 -> Conv3x3 C->1 -> tanh.
                           D: Conv4x4/2 1->C, LReLU(0.2), Conv4x4/2 C->2C, LReLU(0.2), flatten h ->
                           Linear(h) + <Embedding(K, 2C*49)(y), h> (projection head). z 64, C 64, K 10.
  ddpm  configs/ddpm.yaml  U-Net eps(x_t, t, y): base C 16, widths C*(1, 2, 4) at 28/14/7, one residual
                           block a level going down and two coming up (fed the skips), two in the
                           middle; GroupNorm(8) + SiLU; stride-2 conv down, nearest x2 + conv up;
                           sinusoidal embedding of t (C) -> Linear -> SiLU -> Linear (4C) plus an
                           Embedding(K + 1, 4C) of the class, row K meaning "no class".

Module and parameter names are gentri's tensor names (enc.0.weight, g.bn0.running_mean,
net.down.2.c1.weight, ...), so a checkpoint loads with load_state_dict(strict=True): see `check`.

Commands (JSON lines on stdout, one object per measurement; bench.sh reads "what" and "ms"):
  vae | cgan | ddpm   median ms of a training step (forward, backward, Adam, EMA where the config
                      has one) and of sampling, after 3 untimed runs
  gemm | conv         the matrix products and convolutions of those models alone
  all                 all of the above
  check CKPT          load a gentri checkpoint (vae, cgan or ddpm) into these modules, strictly

Usage: torch_reference.py [vae|cgan|ddpm|gemm|conv|all] [--threads 2] [--steps 20] [--configs DIR]
       torch_reference.py check CKPT.safetensors
Needs Debian's PyTorch (apt-get install -y python3-torch); run it with /usr/bin/python3.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIGS = os.path.join(HERE, "..", "configs")
SIDE = 28  # MNIST images are SIDE x SIDE
PIXELS = SIDE * SIDE


# ---------------------------------------------------------------------------------------------
# Configs: gentri's YAML files are two-level maps ("section:" then "  key: value  # comment"),
# which this reads without a YAML library.

def read_config(path):
    with open(path) as f:
        return parse_config(f.read(), path)


def parse_config(text, where):
    cfg, section = {}, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        key, _, value = line.strip().partition(":")
        if not line.startswith((" ", "\t")):
            section = cfg.setdefault(key, {})
            continue
        if section is None:
            raise ValueError("%s: %r outside a section" % (where, line))
        section[key] = parse_scalar(value.strip())
    return cfg


def parse_scalar(v):
    if v.startswith(('"', "'")):
        return v[1:-1]
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v, v)


def load_configs(folder):
    return {kind: read_config(os.path.join(folder, kind + ".yaml")) for kind in ("vae", "cgan", "ddpm")}


# ---------------------------------------------------------------------------------------------
# The VAE.

def mlp(sizes):
    """Linear layers with ReLU between them, indexed 0, 2, 4, ... as gentri names them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    def __init__(self, hidden=512, latent=20):
        super().__init__()
        self.latent = latent
        self.enc = mlp([PIXELS, hidden, hidden, 2 * latent])  # [mu | log sigma^2]
        self.dec = mlp([latent, hidden, hidden, PIXELS])  # Bernoulli logits

    def negative_elbo(self, x):
        """Mean over the batch of -E_q[log p(x|z)] + KL(q(z|x) || N(0, I)), one z per image."""
        mu, logvar = self.enc(x).split(self.latent, dim=1)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        nll = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="sum")
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum()
        return (nll + kl) / x.shape[0]

    def sample(self, z):
        return torch.sigmoid(self.dec(z))


# ---------------------------------------------------------------------------------------------
# The conditional GAN.

class Generator(nn.Module):
    def __init__(self, latent=64, channels=64, classes=10):
        super().__init__()
        self.width = 2 * channels
        self.emb = nn.Embedding(classes, classes)
        self.fc = nn.Linear(latent + classes, self.width * 7 * 7)
        self.bn0 = nn.BatchNorm2d(self.width)
        self.c1 = nn.Conv2d(self.width, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.c2 = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, z, y):
        h = self.fc(torch.cat((z, self.emb(y)), dim=1)).reshape(len(z), self.width, 7, 7)
        h = F.interpolate(F.relu(self.bn0(h)), scale_factor=2, mode="nearest")  # 14 x 14
        h = F.interpolate(F.relu(self.bn1(self.c1(h))), scale_factor=2, mode="nearest")  # 28 x 28
        return torch.tanh(self.c2(h))


class Discriminator(nn.Module):
    def __init__(self, channels=64, classes=10):
        super().__init__()
        features = 2 * channels * 7 * 7
        self.c1 = nn.Conv2d(1, channels, 4, stride=2, padding=1)
        self.c2 = nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)
        self.fc = nn.Linear(features, 1)
        self.proj = nn.Embedding(classes, features)

    def forward(self, x, y):
        h = F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.2)), 0.2).flatten(1)
        return self.fc(h)[:, 0] + (self.proj(y) * h).sum(dim=1)


class CGAN(nn.Module):
    """G, D and the weight average of G that samples (g, d, g_ema in a checkpoint)."""

    def __init__(self, latent=64, channels=64, classes=10):
        super().__init__()
        self.latent, self.classes = latent, classes
        self.g = Generator(latent, channels, classes)
        self.d = Discriminator(channels, classes)
        self.g_ema = Generator(latent, channels, classes)
        self.g_ema.load_state_dict(self.g.state_dict())
        self.g_ema.requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# The DDPM's U-Net.

def timestep_embedding(t, dim):
    """[sin(t f_0) .. sin(t f_{h-1}), cos(t f_0) .. cos(t f_{h-1})], f_i = 10000^(-i/h), h = dim/2."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat((angles.sin(), angles.cos()), dim=1)


class Res(nn.Module):
    """Pre-activation residual block; the time/class embedding is added after the first conv."""

    def __init__(self, cin, cout, emb_dim, groups):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(emb_dim, cout)
        self.n2 = nn.GroupNorm(groups, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x))) + self.t(emb)[:, :, None, None]
        return self.skip(x) + self.c2(F.silu(self.n2(h)))


class UNet(nn.Module):
    def __init__(self, channels=16, mult=(1, 2, 4), res_blocks=1, classes=10, groups=8):
        super().__init__()
        C, E = channels, 4 * channels
        self.channels = C
        self.temb = nn.Sequential(nn.Linear(C, E), nn.SiLU(), nn.Linear(E, E))
        self.cemb = nn.Embedding(classes + 1, E)  # row `classes` is "no class"
        self.inc = nn.Conv2d(1, C, 3, padding=1)

        # Going down, every layer's output is kept for the way up (the stem's too).
        self.down = nn.ModuleList()
        kept, width = [C], C
        for level, m in enumerate(mult):
            for _ in range(res_blocks):
                self.down.append(Res(width, C * m, E, groups))
                width = C * m
                kept.append(width)
            if level + 1 < len(mult):
                self.down.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                kept.append(width)
        self.mid = nn.ModuleList([Res(width, width, E, groups) for _ in range(2)])

        # Coming up, each residual block takes one kept output, deepest first.
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for _ in range(res_blocks + 1):
                self.up.append(Res(width + kept.pop(), C * mult[level], E, groups))
                width = C * mult[level]
            if level > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(width, width, 3, padding=1)))
        self.out = nn.Sequential(nn.GroupNorm(groups, width), nn.SiLU(), nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, x, t, y):
        emb = self.temb(timestep_embedding(t, self.channels)) + self.cemb(y)
        h = self.inc(x)
        kept = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, Res) else layer(h)
            kept.append(h)
        for layer in self.mid:
            h = layer(h, emb)
        for layer in self.up:
            h = layer(torch.cat((h, kept.pop()), dim=1), emb) if isinstance(layer, Res) else layer(h)
        return self.out(h)


class DDPM(nn.Module):
    """The trained network and its weight average (net and ema in a checkpoint)."""

    def __init__(self, channels=16, classes=10):
        super().__init__()
        self.classes = classes
        self.net = UNet(channels, classes=classes)
        self.ema = UNet(channels, classes=classes)
        self.ema.load_state_dict(self.net.state_dict())
        self.ema.requires_grad_(False)


def linear_alpha_bar(T, beta_start, beta_end):
    return torch.cumprod(1 - torch.linspace(beta_start, beta_end, T), dim=0)


# ---------------------------------------------------------------------------------------------
# Building the default models from the configs.

def build(kind, cfgs):
    m = cfgs[kind]["model"]
    if kind == "vae":
        return VAE(m["hidden"], m["latent"])
    if kind == "cgan":
        return CGAN(m["latent"], m["channels"], m["classes"])
    if kind == "ddpm":
        return DDPM(m["channels"], m["classes"])
    raise ValueError("no PyTorch reference for a %s model" % kind)


def adam(params, train, lr_key="lr"):
    return torch.optim.Adam(params, lr=train[lr_key], betas=(train["beta1"], train["beta2"]), eps=train["eps"])


@torch.no_grad()
def ema_update(avg, model, decay):
    """avg <- decay*avg + (1-decay)*model over the parameters; buffers (BatchNorm's) are copied."""
    for a, p in zip(avg.parameters(), model.parameters()):
        a.mul_(decay).add_(p, alpha=1 - decay)
    for a, b in zip(avg.buffers(), model.buffers()):
        a.copy_(b)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# Timing: three untimed runs, then the median of `steps` timed ones (what the Go benchmarks do).

def median_seconds(fn, steps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


bench = median_seconds  # the name gentri's Go benchmarks cite


def emit(**fields):
    print(json.dumps(dict(impl="torch", **fields)), flush=True)


def bench_vae(cfgs, steps):
    train = cfgs["vae"]["train"]
    vae = build("vae", cfgs)
    opt = adam(vae.parameters(), train)
    batch = train["batch_size"]
    x = torch.rand(batch, PIXELS).round()  # a binary batch, as dynamic binarisation gives

    def step():
        opt.zero_grad(set_to_none=True)
        vae.negative_elbo(x).backward()
        opt.step()

    s = median_seconds(step, steps)
    emit(what="vae_train_step", batch=batch, params=n_params(vae), ms=s * 1e3, samples_per_s=batch / s)
    z = torch.randn(1000, vae.latent)
    with torch.no_grad():
        s = median_seconds(lambda: vae.sample(z), steps)
    emit(what="vae_sample", batch=1000, ms=s * 1e3, samples_per_s=1000 / s)


def bench_cgan(cfgs, steps):
    train = cfgs["cgan"]["train"]
    gan = build("cgan", cfgs)
    opt_g, opt_d = adam(gan.g.parameters(), train), adam(gan.d.parameters(), train, "lr_d")
    batch, decay = train["batch_size"], train["ema"]
    real = torch.rand(batch, 1, SIDE, SIDE) * 2 - 1
    y = torch.randint(0, gan.classes, (batch,))

    def step():  # non-saturating losses; D steps on detached fakes, then G is scored by the new D
        fake = gan.g(torch.randn(batch, gan.latent), y)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-gan.d(real, y)).mean() + F.softplus(gan.d(fake.detach(), y)).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        F.softplus(-gan.d(fake, y)).mean().backward()
        opt_g.step()
        if decay:
            ema_update(gan.g_ema, gan.g, decay)

    s = median_seconds(step, steps)
    emit(what="cgan_train_step", batch=batch, params_g=n_params(gan.g), params_d=n_params(gan.d),
         ms=s * 1e3, samples_per_s=batch / s)
    sampler = gan.g_ema.eval()  # running BatchNorm statistics
    z, labels = torch.randn(1000, gan.latent), torch.arange(1000) % gan.classes
    with torch.no_grad():
        s = median_seconds(lambda: sampler(z, labels), max(3, steps // 4))
    emit(what="cgan_sample", batch=1000, ms=s * 1e3, samples_per_s=1000 / s)


def bench_ddpm(cfgs, steps):
    train = cfgs["ddpm"]["train"]
    ddpm = build("ddpm", cfgs)
    opt = adam(ddpm.net.parameters(), train)
    batch, decay, T = train["batch_size"], train["ema"], train["timesteps"]
    alpha_bar = linear_alpha_bar(T, train["beta_start"], train["beta_end"])
    x0 = torch.rand(batch, 1, SIDE, SIDE) * 2 - 1
    labels = torch.arange(batch) % ddpm.classes

    def step():  # epsilon prediction, the simple MSE; some labels dropped to "no class"
        t = torch.randint(0, T, (batch,))
        y = torch.where(torch.rand(batch) < train["cond_drop"], ddpm.classes, labels)
        eps = torch.randn_like(x0)
        ab = alpha_bar[t].reshape(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        opt.zero_grad(set_to_none=True)
        F.mse_loss(ddpm.net(xt, t, y), eps).backward()
        opt.step()
        if decay:
            ema_update(ddpm.ema, ddpm.net, decay)

    s = median_seconds(step, steps)
    emit(what="ddpm_train_step", batch=batch, params=n_params(ddpm.net), ms=s * 1e3, samples_per_s=batch / s)
    xt = torch.randn(64, 1, SIDE, SIDE)
    t, y = torch.full((64,), T // 2), torch.full((64,), ddpm.classes)
    with torch.no_grad():
        s = median_seconds(lambda: ddpm.ema(xt, t, y), steps)
    emit(what="ddpm_nfe_batch64", ms=s * 1e3, nfe_per_s=1 / s, est_1000step_sample_s=1000 * s)


def bench_gemm(steps):
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    s = median_seconds(lambda: torch.mm(a, b), steps)
    emit(what="sgemm1024", ms=s * 1e3, gflops=2 * n ** 3 / s / 1e9)
    # The default VAE's products (M x K times K x N), as internal/nn's BenchmarkGEMM runs them.
    for m, k, n in ((128, 784, 512), (128, 512, 512), (1000, 512, 512), (1000, 512, 784)):
        x, w = torch.randn(m, k), torch.randn(n, k)
        s = median_seconds(lambda: F.linear(x, w), steps)
        emit(what="gemm_%dx%dx%d" % (m, k, n), ms=s * 1e3, gflops=2 * m * k * n / s / 1e9)


def bench_conv(steps):
    # internal/nn's BenchmarkConv shapes at batch 64: (in, size, out, kernel, stride), padding 1.
    shapes = [(16, 28, 16, 3, 1), (32, 14, 32, 3, 1), (64, 7, 64, 3, 1), (48, 28, 16, 3, 1),
              (1, 28, 64, 4, 2), (64, 14, 128, 4, 2), (128, 14, 64, 3, 1), (64, 28, 1, 3, 1)]
    for c, hw, o, k, st in shapes:
        x = torch.randn(64, c, hw, hw, requires_grad=True)
        w = torch.randn(o, c, k, k, requires_grad=True)
        name = "conv_%dx%d_%d_k%ds%d" % (c, hw, o, k, st)
        with torch.no_grad():
            s = median_seconds(lambda: F.conv2d(x, w, stride=st, padding=1), steps)
        emit(what=name + "_fwd", ms=s * 1e3)
        y = F.conv2d(x, w, stride=st, padding=1)
        dy = torch.randn_like(y)
        s = median_seconds(lambda: torch.autograd.grad(y, (x, w), dy, retain_graph=True), steps)
        emit(what=name + "_dx_dw", ms=s * 1e3)


# ---------------------------------------------------------------------------------------------
# Loading gentri checkpoints.

SAFETENSORS_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
                      "U8": torch.uint8}


def read_safetensors(path):
    """(metadata, {name: tensor}) of a safetensors file: an 8-byte little-endian header length, a
    JSON header of names, dtypes, shapes and byte ranges, then the data."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8 or struct.unpack("<Q", blob[:8])[0] > len(blob) - 8:
        raise ValueError("%s: not a safetensors file (no header of a plausible size)" % path)
    (size,) = struct.unpack("<Q", blob[:8])
    header, data = json.loads(blob[8:8 + size]), blob[8 + size:]
    if not isinstance(header, dict):
        raise ValueError("%s: not a safetensors file (its header is not a JSON object)" % path)
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError("%s: tensor %s has dtype %s, which this reader does not know" % (path, name, entry["dtype"]))
        lo, hi = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[lo:hi]), dtype=dtype).reshape(entry["shape"])
    return meta, tensors


def is_training_state(name):
    """Optimizer moments (optim., optim_g., optim_d.) and the loop's state (train.): not weights."""
    return name.startswith(("optim.", "optim_", "train."))


def load_checkpoint(path, configs=DEFAULT_CONFIGS):
    """The module of a gentri checkpoint with its weights, loaded strictly. The shapes come from the
    checkpoint's own config (its model: section), falling back to the default config's."""
    meta, tensors = read_safetensors(path)
    kind = meta.get("gentri.kind")
    if kind not in ("vae", "cgan", "ddpm"):
        raise ValueError("%s: a %r checkpoint; the PyTorch reference has vae, cgan and ddpm" % (path, kind))
    cfgs = load_configs(configs)
    if meta.get("gentri.config"):  # the checkpoint's own config, over the default one
        for section, values in parse_config(meta["gentri.config"], path + " config").items():
            cfgs[kind].setdefault(section, {}).update(values)
    module = build(kind, cfgs)
    weights = {k: v for k, v in tensors.items() if not is_training_state(k)}
    module.load_state_dict(weights, strict=True)
    return kind, module, weights


def check(path, configs):
    kind, module, weights = load_checkpoint(path, configs)
    emit(what="check", checkpoint=path, kind=kind, strict=True, tensors_loaded=len(weights),
         params=n_params(module))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="all", choices=["vae", "cgan", "ddpm", "gemm", "conv", "all", "check"])
    ap.add_argument("checkpoint", nargs="?", help="with check: the gentri checkpoint to load")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--steps", type=int, default=20, help="timed runs per measurement (default 20)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help="gentri's configs folder (default: the repo's)")
    a = ap.parse_args(argv)
    if a.steps < 1 or a.threads < 1:
        ap.error("--steps and --threads must be at least 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if (a.what == "check") != bool(a.checkpoint):
        ap.error("check needs a checkpoint, and only check takes one")
    if a.what == "check":
        check(a.checkpoint, a.configs)
        return
    cfgs = load_configs(a.configs)
    if a.what in ("gemm", "all"):
        bench_gemm(a.steps)
    if a.what in ("conv", "all"):
        bench_conv(a.steps)
    for kind, run in (("vae", bench_vae), ("cgan", bench_cgan), ("ddpm", bench_ddpm)):
        if a.what in (kind, "all"):
            run(cfgs, a.steps)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print("torch_reference.py: %s" % e, file=sys.stderr)
        sys.exit(1)
