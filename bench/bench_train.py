"""Time util.model's training step against a plain pix2pix loop at the paper's size.

Both sides get the same architecture (U-Net 256, ngf 64, 70x70 PatchGAN, ndf 64, batch norm, dropout),
the same initial weights and the same inputs (batch 1, 1 channel in, 3 out). The plain loop is pix2pix's
``optimize_parameters`` written straight: G(A); D step on fake.detach() and real; G step with D frozen;
default Adam; ``zero_grad()``; nothing else.

Prints the first step's losses of both (they must agree: our speed-ups must not change the numerics),
then seconds per step (median and best over --steps, after --warmup steps; the two loops alternate step
by step so that other load on the machine hits both alike), the ratio ours / plain, and CPU-seconds per
step (a second view that other programs on the machine disturb less).
A benchmark, not a test: it never fails on a timing.

    .venv/bin/python bench/bench_train.py --steps 10
    .venv/bin/python bench/bench_train.py --steps 10 --ablation   # each speed-up switched off in turn
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from util.gan import losses, networks  # noqa: E402
from util.gan.model import Pix2PixConfig, Pix2PixModel  # noqa: E402

LOSS_TOLERANCE = 1e-4  # relative; float32 rounding differs between Adam implementations, not the maths


class PlainPix2Pix:
    """pix2pix's training step with no speed-ups, as the baseline."""

    def __init__(self, netG, netD, lr=2e-4, beta1=0.5, lambda_L1=100.0, freeze_D=True):
        self.netG, self.netD = netG, netD
        self.freeze_D = freeze_D  # pix2pix freezes D's weights during G's update; --ablation also times not doing so
        self.criterionGAN, self.criterionL1 = losses.GANLoss("vanilla"), torch.nn.L1Loss()
        self.optimizer_G = torch.optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizer_D = torch.optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.lambda_L1 = lambda_L1

    def step(self, real_A, real_B) -> dict:
        fake_B = self.netG(real_A)
        for p in self.netD.parameters():
            p.requires_grad = True
        self.optimizer_D.zero_grad()
        fake_AB = torch.cat((real_A, fake_B), 1)
        loss_D_fake = self.criterionGAN(self.netD(fake_AB.detach()), False)
        loss_D_real = self.criterionGAN(self.netD(torch.cat((real_A, real_B), 1)), True)
        ((loss_D_fake + loss_D_real) * 0.5).backward()
        self.optimizer_D.step()
        for p in self.netD.parameters():
            p.requires_grad = not self.freeze_D
        self.optimizer_G.zero_grad()
        loss_G_GAN = self.criterionGAN(self.netD(fake_AB), True)
        loss_G_L1 = self.criterionL1(fake_B, real_B) * self.lambda_L1
        (loss_G_GAN + loss_G_L1).backward()
        self.optimizer_G.step()
        return {"G_GAN": loss_G_GAN.item(), "G_L1": loss_G_L1.item(),
                "D_real": loss_D_real.item(), "D_fake": loss_D_fake.item()}


class Ours:
    def __init__(self, model: Pix2PixModel):
        self.model = model

    def step(self, real_A, real_B) -> dict:
        self.model.set_input(real_A, real_B)
        self.model.optimize_parameters()
        return self.model.get_current_losses()


def build(args, **overrides):
    """(plain, ours) with identical initial weights."""
    config = Pix2PixConfig(ngf=args.ngf, ndf=args.ndf, netG=f"unet_{args.size}", compile=args.compile, **overrides)
    torch.manual_seed(args.seed)
    model = Pix2PixModel(config)
    netG = networks.define_G(1, 3, args.ngf, config.netG, "batch", True)
    netD = networks.define_D(4, args.ndf, "basic")
    netG.load_state_dict(model.netG.state_dict())
    netD.load_state_dict(model.netD.state_dict())
    return PlainPix2Pix(netG, netD), Ours(model)


def first_step_agreement(plain, ours, real_A, real_B, seed) -> float:
    """Largest relative difference between the two loops' first-step losses (same dropout masks)."""
    torch.manual_seed(seed)
    a = plain.step(real_A, real_B)
    torch.manual_seed(seed)
    b = ours.step(real_A, real_B)
    print("first step losses  " + "  ".join(f"{k} plain {a[k]:.6f} ours {b[k]:.6f}" for k in a))
    return max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-8) for k in a)


def time_steps(loops: dict, real_A, real_B, warmup: int, steps: int) -> tuple[dict, dict]:
    """Alternate the loops step by step; wall-clock and process CPU seconds per step for each."""
    for _ in range(warmup):
        for loop in loops.values():
            loop.step(real_A, real_B)
    wall, cpu = {name: [] for name in loops}, {name: [] for name in loops}
    for _ in range(steps):
        for name, loop in loops.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            loop.step(real_A, real_B)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def report(wall: dict, cpu: dict, baseline: str = "plain") -> None:
    """Median and best wall seconds per step, ratios to the baseline, and CPU-seconds per step (all threads).

    CPU time counts only this process's work, so it moves less than wall time when other programs compete
    for the cores; on a quiet machine wall time is the figure that matters.
    """
    base_wall, base_best, base_cpu = (statistics.median(wall[baseline]), min(wall[baseline]),
                                      statistics.median(cpu[baseline]))
    for name in wall:
        med, best, med_cpu = statistics.median(wall[name]), min(wall[name]), statistics.median(cpu[name])
        print(f"{name:28s} median {med:.3f} s/step  best {best:.3f} s/step  ratio {med / base_wall:.2f} "
              f"(median) {best / base_best:.2f} (best)  |  CPU {med_cpu:.2f} s/step, ratio {med_cpu / base_cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per loop (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per loop first (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps torch's default")
    parser.add_argument("--size", type=int, default=256, help="tile size in pixels, a power of 2 (default 256)")
    parser.add_argument("--ngf", type=int, default=64, help="generator filters (default 64)")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator filters (default 64)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile our networks")
    parser.add_argument("--ablation", action="store_true",
                        help="also time our model with each speed-up switched off in turn")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, inputs and dropout (default 0)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    generator = torch.Generator().manual_seed(args.seed)
    real_A = torch.rand(1, 1, args.size, args.size, generator=generator) * 2 - 1
    real_B = torch.rand(1, 3, args.size, args.size, generator=generator) * 2 - 1
    plain, ours = build(args)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}x{args.size}, "
          f"ngf {args.ngf}, ndf {args.ndf}, batch 1, compile {ours.model.compiled}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    difference = first_step_agreement(plain, ours, real_A, real_B, args.seed)
    verdict = "agree" if difference <= LOSS_TOLERANCE else "DIFFER"
    print(f"first-step losses {verdict}: largest relative difference {difference:.2e} (tolerance {LOSS_TOLERANCE:g})")

    loops = {"plain": plain, "ours": ours}
    if args.ablation:
        unfrozen = build(args)[0]
        unfrozen.freeze_D = False
        loops["plain, D not frozen for G"] = unfrozen
        loops["ours without fused Adam"] = build(args, fused_adam=False)[1]
        loops["ours without GEMM convs"] = build(args, gemm_max_pixels=0)[1]
    wall, cpu = time_steps(loops, real_A, real_B, args.warmup, args.steps)
    report(wall, cpu)
    print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine slows both loops)")


if __name__ == "__main__":
    main()
