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
  ddgan configs/ddgan.yaml G(x_{t+1}, t, z, y) -> x0_hat: that U-Net with AdaGN in every residual block
                           (GroupNorm without affine, times 1 + a plus b, [a; b] = Linear(w),
                           w = MLP(PixelNorm(z)), z 100), K class rows, tanh. D(x_t, x_{t+1}, t, y):
                           1x1 conv 2 -> 64, two Down blocks (64 at 14x14, 128 at 7x7), 3x3 conv,
                           LReLU, spatial sum, Linear + projection head. The diffusion has T = 4 steps
                           (the paper's VP schedule), sampling one G evaluation a step; a training
                           step is a D step (softplus losses, R1 on the real pairs every lazy_reg
                           steps), a G step (softplus), an EMA update. docs/models.md has the maths.

Module and parameter names are gentri's tensor names (enc.0.weight, g.bn0.running_mean,
net.down.2.c1.weight, G.down.0.s1.weight, ...), so a checkpoint loads with
load_state_dict(strict=True): see `check` (and scripts/ddgan_torch_check.py, which compares the
ddgan's outputs with gentri's).

Commands (JSON lines on stdout, one object per measurement; bench.sh reads "what" and "ms"):
  vae | cgan | ddpm   median ms of a training step (forward, backward, Adam, EMA where the config
  | ddgan             has one) and of sampling, after 3 untimed runs (the ddgan, whose runs take
                      seconds: after one training step, and one network batch of samples)
  gemm | conv         the matrix products and convolutions of those models alone
  all                 all of the above
  check CKPT          load a gentri checkpoint (vae, cgan, ddpm or ddgan) into these modules, strictly

Usage: torch_reference.py [vae|cgan|ddpm|ddgan|gemm|conv|all] [--threads 2] [--steps 20] [--configs DIR]
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
SIDE = 28  # MNIST images are SIDE x SIDE: the default shape, 1 x 28 x 28 (data.channels, data.size)
PIXELS = SIDE * SIDE
IMAGE = (1, SIDE)  # (channels, side): a model is built for one; the configs' data.channels and data.size
KINDS = ("vae", "cgan", "ddpm", "ddgan")  # the models written here, each with a configs/<kind>.yaml


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
    return {kind: read_config(os.path.join(folder, kind + ".yaml")) for kind in KINDS}


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
    def __init__(self, hidden=512, latent=20, image=IMAGE):
        super().__init__()
        self.latent, self.image = latent, image
        pixels = image[0] * image[1] * image[1]  # a CHW image, flattened
        self.enc = mlp([pixels, hidden, hidden, 2 * latent])  # [mu | log sigma^2]
        self.dec = mlp([latent, hidden, hidden, pixels])  # Bernoulli logits

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
    def __init__(self, latent=64, channels=64, classes=10, image=IMAGE):
        super().__init__()
        self.width, self.base = 2 * channels, image[1] // 4  # 7 for 28 pixels, 8 for 32
        self.emb = nn.Embedding(classes, classes)
        self.fc = nn.Linear(latent + classes, self.width * self.base * self.base)
        self.bn0 = nn.BatchNorm2d(self.width)
        self.c1 = nn.Conv2d(self.width, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.c2 = nn.Conv2d(channels, image[0], 3, padding=1)

    def forward(self, z, y):
        h = self.fc(torch.cat((z, self.emb(y)), dim=1)).reshape(len(z), self.width, self.base, self.base)
        h = F.interpolate(F.relu(self.bn0(h)), scale_factor=2, mode="nearest")  # 14 x 14 (16 x 16)
        h = F.interpolate(F.relu(self.bn1(self.c1(h))), scale_factor=2, mode="nearest")  # 28 x 28 (32 x 32)
        return torch.tanh(self.c2(h))


class Discriminator(nn.Module):
    def __init__(self, channels=64, classes=10, image=IMAGE):
        super().__init__()
        features = 2 * channels * (image[1] // 4) ** 2
        self.c1 = nn.Conv2d(image[0], channels, 4, stride=2, padding=1)
        self.c2 = nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)
        self.fc = nn.Linear(features, 1)
        self.proj = nn.Embedding(classes, features)

    def forward(self, x, y):
        h = F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.2)), 0.2).flatten(1)
        return self.fc(h)[:, 0] + (self.proj(y) * h).sum(dim=1)


class CGAN(nn.Module):
    """G, D and the weight average of G that samples (g, d, g_ema in a checkpoint)."""

    def __init__(self, latent=64, channels=64, classes=10, image=IMAGE):
        super().__init__()
        self.latent, self.classes, self.image = latent, classes, image
        self.g = Generator(latent, channels, classes, image)
        self.d = Discriminator(channels, classes, image)
        self.g_ema = Generator(latent, channels, classes, image)
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
    """Pre-activation residual block; the time/class embedding is added after the first conv.

    With a style width (the ddgan's generator) both GroupNorms are adaptive (AdaGN): they have no
    affine parameters of their own; GN(h)(1 + a) + b scales and shifts them per sample, with
    [a; b] = s1(w) before c1 and s2(w) before c2, w the style vector."""

    def __init__(self, cin, cout, emb_dim, groups, style=0):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin, affine=not style)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(emb_dim, cout)
        self.n2 = nn.GroupNorm(groups, cout, affine=not style)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        if style:
            self.s1, self.s2 = nn.Linear(style, 2 * cin), nn.Linear(style, 2 * cout)

    @staticmethod
    def modulate(h, scale_shift):
        a, b = scale_shift[:, :, None, None].chunk(2, dim=1)
        return h * (1 + a) + b

    def forward(self, x, emb, w=None):
        h = self.n1(x)
        if w is not None:
            h = self.modulate(h, self.s1(w))
        h = self.c1(F.silu(h)) + self.t(emb)[:, :, None, None]
        h = self.n2(h)
        if w is not None:
            h = self.modulate(h, self.s2(w))
        return self.skip(x) + self.c2(F.silu(h))


class UNet(nn.Module):
    """The DDPM's noise predictor; with style > 0 (the ddgan's generator) every residual block is
    modulated by a style vector (Res), and null_class=False drops the "no class" embedding row."""

    def __init__(self, channels=16, mult=(1, 2, 4), res_blocks=1, classes=10, groups=8, style=0, null_class=True,
                 image_channels=1):
        super().__init__()
        C, E = channels, 4 * channels
        self.channels = C
        self.temb = nn.Sequential(nn.Linear(C, E), nn.SiLU(), nn.Linear(E, E))
        self.cemb = nn.Embedding(classes + 1 if null_class else classes, E)  # row `classes`: "no class"
        self.inc = nn.Conv2d(image_channels, C, 3, padding=1)  # levels 28/14/7, or 32/16/8

        # Going down, every layer's output is kept for the way up (the stem's too).
        self.down = nn.ModuleList()
        kept, width = [C], C
        for level, m in enumerate(mult):
            for _ in range(res_blocks):
                self.down.append(Res(width, C * m, E, groups, style))
                width = C * m
                kept.append(width)
            if level + 1 < len(mult):
                self.down.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                kept.append(width)
        self.mid = nn.ModuleList([Res(width, width, E, groups, style) for _ in range(2)])

        # Coming up, each residual block takes one kept output, deepest first.
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for _ in range(res_blocks + 1):
                self.up.append(Res(width + kept.pop(), C * mult[level], E, groups, style))
                width = C * mult[level]
            if level > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(width, width, 3, padding=1)))
        self.out = nn.Sequential(nn.GroupNorm(groups, width), nn.SiLU(), nn.Conv2d(width, image_channels, 3, padding=1))

    def forward(self, x, t, y, w=None):
        emb = self.temb(timestep_embedding(t, self.channels)) + self.cemb(y)
        h = self.inc(x)
        kept = [h]
        for layer in self.down:
            h = layer(h, emb, w) if isinstance(layer, Res) else layer(h)
            kept.append(h)
        for layer in self.mid:
            h = layer(h, emb, w)
        for layer in self.up:
            h = layer(torch.cat((h, kept.pop()), dim=1), emb, w) if isinstance(layer, Res) else layer(h)
        return self.out(h)


class DDPM(nn.Module):
    """The trained network and its weight average (net and ema in a checkpoint)."""

    def __init__(self, channels=16, classes=10, image=IMAGE):
        super().__init__()
        self.classes, self.image = classes, image
        self.net = UNet(channels, classes=classes, image_channels=image[0])
        self.ema = UNet(channels, classes=classes, image_channels=image[0])
        self.ema.load_state_dict(self.net.state_dict())
        self.ema.requires_grad_(False)


def linear_alpha_bar(T, beta_start, beta_end):
    return torch.cumprod(1 - torch.linspace(beta_start, beta_end, T), dim=0)


# ---------------------------------------------------------------------------------------------
# The denoising diffusion GAN (Xiao, Kreis & Vahdat, ICLR 2022; docs/models.md): a diffusion of T
# large steps whose reverse step is a class-conditional GAN.

class DDGANSchedule:
    """The discretised variance-preserving SDE of the paper's code, computed in float64, kept in
    float32: s_k = k/T (1 - 1e-3) + 1e-3, abar(s) = exp(-s^2 (b_max - b_min)/2 - s b_min),
    beta_k = 1 - abar(s_k)/abar(s_{k-1}), A_k = prod_{j<=k} (1 - beta_j), A_0 = 1, b_min 0.1,
    b_max 20. Index t = 0..T-1 names the step from x_{t+1} to x_t. Not a Module: it holds no
    weights, so a checkpoint has none of it."""

    def __init__(self, T, beta_min=0.1, beta_max=20.0, eps=1e-3):
        if T < 1:
            raise ValueError("ddgan: %d diffusion steps, want at least 1" % T)
        self.T = T
        s = [k / T * (1 - eps) + eps for k in range(T + 1)]
        abar = [math.exp(-0.5 * v * v * (beta_max - beta_min) - v * beta_min) for v in s]
        beta = [1 - abar[k] / abar[k - 1] for k in range(1, T + 1)]
        A = [1.0]
        for b in beta:
            A.append(A[-1] * (1 - b))
        f32 = lambda xs: torch.tensor(xs, dtype=torch.float32)
        self.sqrt_a, self.sqrt_1ma = f32([math.sqrt(a) for a in A]), f32([math.sqrt(1 - a) for a in A])
        self.sqrt_alpha, self.sqrt_beta = f32([math.sqrt(1 - b) for b in beta]), f32([math.sqrt(b) for b in beta])
        # q(x_t | x_{t+1}, x_0) = N(c1 x_0 + c2 x_{t+1}, sd^2)
        self.c1 = f32([b * math.sqrt(A[t]) / (1 - A[t + 1]) for t, b in enumerate(beta)])
        self.c2 = f32([(1 - A[t]) * math.sqrt(1 - b) / (1 - A[t + 1]) for t, b in enumerate(beta)])
        self.sd = f32([math.sqrt(max(b * (1 - A[t]) / (1 - A[t + 1]), 1e-20)) for t, b in enumerate(beta)])

    @staticmethod
    def per_row(coef, t):
        return coef[t].reshape(-1, 1, 1, 1)

    def pair(self, x0, t):
        """A training pair of steps t (one per row): x_t = sqrt(A_t) x0 + sqrt(1 - A_t) e1,
        x_{t+1} = sqrt(alpha_{t+1}) x_t + sqrt(beta_{t+1}) e2."""
        xt = self.per_row(self.sqrt_a, t) * x0 + self.per_row(self.sqrt_1ma, t) * torch.randn_like(x0)
        return xt, self.per_row(self.sqrt_alpha, t) * xt + self.per_row(self.sqrt_beta, t) * torch.randn_like(x0)

    def posterior(self, x0, xt1, t):
        """A draw of q(x_t | x_{t+1}, x0); rows at t = 0 get the mean."""
        sd = self.per_row(self.sd, t) * (t > 0).reshape(-1, 1, 1, 1)
        return self.per_row(self.c1, t) * x0 + self.per_row(self.c2, t) * xt1 + sd * torch.randn_like(x0)


class DDGANGenerator(UNet):
    """G(x_{t+1}, t, z, y) -> x0_hat: the DDPM's U-Net with AdaGN in every residual block, driven by
    w = zmap(PixelNorm(z)) (nz -> 4C -> 4C, SiLU after each), K class rows, tanh out."""

    def __init__(self, channels=16, latent=100, classes=10, image_channels=1):
        E = 4 * channels
        super().__init__(channels, classes=classes, style=E, null_class=False, image_channels=image_channels)
        self.latent = latent
        self.zmap = nn.Sequential(nn.Linear(latent, E), nn.SiLU(), nn.Linear(E, E), nn.SiLU())

    def forward(self, x, t, z, y):
        w = self.zmap(z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8))
        return torch.tanh(super().forward(x, t, y, w))


class DDGANDown(nn.Module):
    """(c2(avgpool(LReLU(c1(LReLU(x)) + t(temb)))) + skip(avgpool(x))) / sqrt(2), halving the size."""

    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.c1, self.t = nn.Conv2d(cin, cout, 3, padding=1), nn.Linear(tdim, cout)
        self.c2, self.skip = nn.Conv2d(cout, cout, 3, padding=1), nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x, temb):
        h = self.c1(F.leaky_relu(x, 0.2)) + self.t(temb)[:, :, None, None]
        h = self.c2(F.avg_pool2d(F.leaky_relu(h, 0.2), 2))
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class DDGANDiscriminator(nn.Module):
    """D(x_t, x_{t+1}, t, y) -> logit: a 1x1 conv on the pair as 2 x image channels, Down blocks to dch at
    14x14 and 2 dch at 7x7 (each adding a projection of the time embedding), a 3x3 conv, LReLU, the
    sum over the plane (head "sum"; "flatten" keeps the 2 dch x 7 x 7 features as they are), then
    fc(f) + <proj(y), f> (projection head). LReLU slopes 0.2 throughout."""

    def __init__(self, channels=64, classes=10, image_channels=1, head="sum", size=28):
        super().__init__()
        ch = self.channels = channels
        if head not in ("sum", "flatten"):
            raise ValueError("ddgan: discriminator head %r, want sum or flatten" % head)
        self.head = head
        feat = 2 * ch * (size // 4) ** 2 if head == "flatten" else 2 * ch
        self.temb = nn.Sequential(nn.Linear(ch, ch), nn.LeakyReLU(0.2), nn.Linear(ch, ch), nn.LeakyReLU(0.2))
        self.inc = nn.Conv2d(2 * image_channels, ch, 1)
        self.b1, self.b2 = DDGANDown(ch, ch, ch), DDGANDown(ch, 2 * ch, ch)
        self.final = nn.Conv2d(2 * ch, 2 * ch, 3, padding=1)
        self.fc, self.proj = nn.Linear(feat, 1), nn.Embedding(classes, feat)
        with torch.no_grad():  # as the paper's code (init_scale 0) and gentri: every logit starts equal
            for conv in (self.b1.c2, self.b2.c2, self.final):
                conv.weight.zero_()
                conv.bias.zero_()

    def forward(self, pair, t, y):
        temb = self.temb(timestep_embedding(t, self.channels))
        h = self.b2(self.b1(self.inc(pair), temb), temb)
        f = F.leaky_relu(self.final(h), 0.2)
        f = f.flatten(1) if self.head == "flatten" else f.sum(dim=(2, 3))
        return self.fc(f)[:, 0] + (self.proj(y) * f).sum(dim=1)


class DDGAN(nn.Module):
    """G, D and the weight average of G that samples (G, D, ema in a checkpoint), and the schedule."""

    def __init__(self, channels=16, d_channels=64, latent=100, classes=10, timesteps=4, image=IMAGE, d_head="sum"):
        super().__init__()
        self.latent, self.classes, self.image = latent, classes, image
        self.schedule = DDGANSchedule(timesteps)
        self.G = DDGANGenerator(channels, latent, classes, image[0])
        self.D = DDGANDiscriminator(d_channels, classes, image[0], d_head, image[1])
        self.ema = DDGANGenerator(channels, latent, classes, image[0])
        self.ema.load_state_dict(self.G.state_dict())
        self.ema.requires_grad_(False)

    @torch.no_grad()
    def sample(self, labels, batch=100):
        """One image in [0, 1] per label: x_T ~ N(0, I), then for t = T-1..0 a fresh z and
        x_t ~ q(x_t | x_{t+1}, ema(x_{t+1}, t, z, y)); `batch` rows go through the network at a time."""
        out = []
        for y in labels.split(batch):
            x = torch.randn(len(y), self.image[0], self.image[1], self.image[1])
            for step in reversed(range(self.schedule.T)):
                t = torch.full((len(y),), step)
                x = self.schedule.posterior(self.ema(x, t, torch.randn(len(y), self.latent), y), x, t)
            out.append((x.clamp(-1, 1) + 1) / 2)
        return torch.cat(out)


# ---------------------------------------------------------------------------------------------
# Building the default models from the configs.

def build(kind, cfgs):
    m, d = cfgs[kind]["model"], cfgs[kind].get("data", {})
    image = (d.get("channels", IMAGE[0]), d.get("size", IMAGE[1]))
    if kind == "vae":
        return VAE(m["hidden"], m["latent"], image)
    if kind == "cgan":
        return CGAN(m["latent"], m["channels"], m["classes"], image)
    if kind == "ddpm":
        return DDPM(m["channels"], m["classes"], image)
    if kind == "ddgan":
        return DDGAN(m["channels"], m["d_channels"], m["latent"], m["classes"], cfgs[kind]["train"]["timesteps"], image,
                     m.get("d_head", "sum"))
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
    """The median seconds of `steps` timed runs of fn after `warmup` untimed ones."""
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
    c, side = vae.image
    x = torch.rand(batch, c * side * side).round()  # a binary batch, as dynamic binarisation gives

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
    real = torch.rand(batch, gan.image[0], gan.image[1], gan.image[1]) * 2 - 1
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


def ddpm_train_step(ddpm, train, batch):
    """One DDPM training step on a fixed random batch, as a closure (bench_ddpm and
    torch_scaling.py time it): epsilon prediction, the simple MSE, Adam, the EMA; some labels
    dropped to "no class". Returns (step, x0)."""
    opt = adam(ddpm.net.parameters(), train)
    decay, T = train["ema"], train["timesteps"]
    alpha_bar = linear_alpha_bar(T, train["beta_start"], train["beta_end"])
    x0 = torch.rand(batch, ddpm.image[0], ddpm.image[1], ddpm.image[1]) * 2 - 1
    labels = torch.arange(batch) % ddpm.classes

    def step():
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

    return step, x0


def bench_ddpm(cfgs, steps):
    train = cfgs["ddpm"]["train"]
    ddpm = build("ddpm", cfgs)
    batch, T = train["batch_size"], train["timesteps"]
    step, x0 = ddpm_train_step(ddpm, train, batch)
    s = median_seconds(step, steps)
    emit(what="ddpm_train_step", batch=batch, params=n_params(ddpm.net), ms=s * 1e3, samples_per_s=batch / s)
    xt = torch.randn(64, *x0.shape[1:])
    t, y = torch.full((64,), T // 2), torch.full((64,), ddpm.classes)
    with torch.no_grad():
        s = median_seconds(lambda: ddpm.ema(xt, t, y), steps)
    emit(what="ddpm_nfe_batch64", ms=s * 1e3, nfe_per_s=1 / s, est_1000step_sample_s=1000 * s)


# The ddgan's runs take seconds each, so its measurements warm up with less (one training step; one
# network batch of samples) than the others' three runs; the Go benchmarks do the same
# (internal/models/ddgan_bench_test.go).
DDGAN_SAMPLE_BATCH = 100  # rows per generator evaluation in sampling, gentri's sampling graph's batch


def bench_ddgan(cfgs, steps):
    train = cfgs["ddgan"]["train"]
    gan = build("ddgan", cfgs)
    G, D, sched = gan.G, gan.D, gan.schedule
    opt_g, opt_d = adam(G.parameters(), train), adam(D.parameters(), train, "lr_d")
    batch, decay, r1, lazy_reg = train["batch_size"], train["ema"], train["r1"], train["lazy_reg"]
    x0 = torch.rand(batch, gan.image[0], gan.image[1], gan.image[1]) * 2 - 1
    y = torch.arange(batch) % gan.classes
    steps_taken = [0]

    def d_step():
        """Softplus losses on B real pairs and B fake ones in one pass of D (2B rows), the fakes
        x'_t ~ q(x_t | x_{t+1}, G(x_{t+1}, t, z, y)) from G without gradients; R1 = r1/2
        E|dD(x_t, x_{t+1})/dx_t|^2 on the real pairs every lazy_reg steps, by double backpropagation
        (the paper's code's way; gentri gets the same gradient from one more pass of D over the B
        real pairs, see docs/models.md)."""
        t = torch.randint(0, sched.T, (batch,))
        xt, xt1 = sched.pair(x0, t)
        with torch.no_grad():
            fake = sched.posterior(G(xt1, t, torch.randn(batch, gan.latent), y), xt1, t)
        r1_due = r1 > 0 and steps_taken[0] % lazy_reg == 0
        xt = xt.detach().requires_grad_(r1_due)
        pairs = torch.cat((torch.cat((xt, xt1), dim=1), torch.cat((fake, xt1), dim=1)))
        logits = D(pairs, torch.cat((t, t)), torch.cat((y, y)))
        real_logits, fake_logits = logits[:batch], logits[batch:]
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        if r1_due:
            (grad,) = torch.autograd.grad(real_logits.sum(), xt, create_graph=True)
            loss = loss + r1 / 2 * grad.square().flatten(1).sum(dim=1).mean()
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()

    def g_step():
        """A fresh t, pair and z; L_G = E softplus(-D(x'_t, x_{t+1})) with D's weights frozen, so its
        backward pass computes D's input gradient only, as gentri's does."""
        t = torch.randint(0, sched.T, (batch,))
        _, xt1 = sched.pair(x0, t)
        fake = sched.posterior(G(xt1, t, torch.randn(batch, gan.latent), y), xt1, t)
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        F.softplus(-D(torch.cat((fake, xt1), dim=1), t, y)).mean().backward()
        D.requires_grad_(True)
        opt_g.step()

    def step():  # D step, G step, then G's average with gentri's warm-up min(d, (1+n)/(10+n))
        d_step()
        g_step()
        steps_taken[0] += 1
        n = steps_taken[0]
        ema_update(gan.ema, G, min(decay, (1 + n) / (10 + n)))

    s = median_seconds(step, steps, warmup=1)
    emit(what="ddgan_train_step", batch=batch, params_g=n_params(G), params_d=n_params(D), r1=r1,
         lazy_reg=lazy_reg, ms=s * 1e3, samples_per_s=batch / s)
    labels = torch.arange(1000) % gan.classes
    gan.sample(labels[:DDGAN_SAMPLE_BATCH], DDGAN_SAMPLE_BATCH)  # the warm-up: one network batch
    s = median_seconds(lambda: gan.sample(labels, DDGAN_SAMPLE_BATCH), steps, warmup=0)
    emit(what="ddgan_sample", batch=1000, nfe=sched.T, ms=s * 1e3, samples_per_s=1000 / s)


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
    if kind not in KINDS:
        raise ValueError("%s: a %r checkpoint; the PyTorch reference has %s" % (path, kind, ", ".join(KINDS)))
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
    ap.add_argument("what", nargs="?", default="all", choices=list(KINDS) + ["gemm", "conv", "all", "check"])
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
    for kind, run in (("vae", bench_vae), ("cgan", bench_cgan), ("ddpm", bench_ddpm), ("ddgan", bench_ddgan)):
        if a.what in (kind, "all"):
            run(cfgs, a.steps)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print("torch_reference.py: %s" % e, file=sys.stderr)
        sys.exit(1)
