"""The pix2pix model: one training step, learning-rate schedule, saving, resuming and generating.

Faithful to pix2pix (Isola et al. 2017): each step updates D on (A, B) as real and (A, G(A)) as fake,
D loss = 0.5 (real + fake), then G on GAN loss + lambda_L1 * L1 with D frozen. Adam (lr 2e-4, beta1 0.5),
linear decay of the learning rate after ``n_epochs``. One addition of ours, off by default
(``lambda_CE`` 0): a colour cross-entropy beside L1 (:class:`ColourCrossEntropy`), optionally class-weighted,
which lets a small generator learn rare classes in minutes (the demo preset uses it).

Speed on CPU comes from choices that leave the numerics alone (losses equal a plain pix2pix loop to float
rounding): Adam's fused kernel instead of its per-tensor loop, and the deep, few-pixel convolutions computed
as plain matrix products (:func:`util.gan.gemm.use_gemm_convolutions`). As in pix2pix, D's weights get no
gradient during G's update, and gradients are set to None rather than zeroed (PyTorch's default).
``torch.compile`` is optional: it was slower on our 2-core CPU. ``bench/bench_train.py --ablation`` measures
each choice.

Under torchrun (``world``, :mod:`util.gan.distributed`) each process steps on its share of the global batch:
batch norm takes the global batch's statistics, gradients are averaged over processes before each optimiser
step, and the colour cross-entropy is re-weighted so that the averaged loss is the global batch's.

Typical use (what ``job03_train.py`` does)::

    config = Pix2PixConfig(input_nc=1, output_nc=3, device="cpu")
    model = Pix2PixModel(config)
    # to resume: model.load_state(os.path.join(checkpoint_dir, "latest_state.pth"))
    for epoch in range(model.epoch, config.n_epochs + config.n_epochs_decay + 1):
        for batch in loader:                      # DataLoader(AlignedPairDataset(...), batch_size=1)
            model.set_input(batch["A"], batch["B"])
            model.optimize_parameters()
            losses = model.get_current_losses()
        model.update_learning_rate()              # once per epoch, at its end
        model.save_networks(checkpoint_dir, "latest")
        model.save_state(os.path.join(checkpoint_dir, "latest_state.pth"))
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim import lr_scheduler

from util.errors import UserError
from util.files import atomic_path
from util.gan import distributed, gemm, losses, networks
from util.gan.averaging import WeightAverage
from util.gan.distributed import World

LR_POLICIES = ("linear", "step", "plateau", "cosine")


@dataclass
class Pix2PixConfig:
    """Every setting of the model, named as pix2pix's flags, with pix2pix's defaults for a 1 -> 3 channel task."""

    input_nc: int = 1               # channels of A (spectrogram: 1)
    output_nc: int = 3              # channels of B (colour label: 3)
    ngf: int = 64                   # generator filters in the first conv layer
    ndf: int = 64                   # discriminator filters in the first conv layer
    netG: str = "unet_256"          # unet_256 | unet_128 | resnet_9blocks | resnet_6blocks
    netD: str = "basic"             # basic (70x70 PatchGAN) | n_layers | pixel
    n_layers_D: int = 3             # only with netD n_layers
    norm: str = "batch"             # batch | tile | instance | none (util.gan.norms)
    no_dropout: bool = False        # pix2pix's generator trains with dropout 0.5
    row_contrast: float = 0.0       # G also sees each row minus its time quantile (networks.RowContrast); 0 = off
    ema_decay: float = 0.0          # score and save an average of G's weights (averaging.WeightAverage); 0 = off
    init_type: str = "normal"       # normal | xavier | kaiming | orthogonal
    init_gain: float = 0.02
    gan_mode: str = "vanilla"       # vanilla (BCE on logits) | lsgan
    lambda_L1: float = 100.0
    lambda_GAN: float = 1.0         # weight of G's adversarial term; 0 = L1 (and CE) alone, the ablation
    lambda_CE: float = 0.0          # colour cross-entropy weight (our addition; 0 = pix2pix as published)
    label_colors: tuple = ()        # the palette's RGB colours, background black first (needed by lambda_CE)
    ce_temperature: float = 1.0     # distances in [-1, 1] RGB units squared are divided by this
    ce_class_weights: tuple = ()    # per colour (background first); () = all 1
    lr: float = 2e-4
    beta1: float = 0.5
    lr_policy: str = "linear"       # linear | step | plateau | cosine
    n_epochs: int = 100             # epochs at the initial learning rate
    n_epochs_decay: int = 100       # epochs of linear decay to zero
    epoch_count: int = 1            # the first epoch's number (pix2pix's resume without a saved state)
    lr_decay_iters: int = 50        # step policy: multiply by 0.1 every this many epochs
    device: str = "cpu"             # cpu | cuda | cuda:N
    amp: bool = False               # mixed precision, CUDA only
    compile: bool = False           # torch.compile both networks (falls back to eager if it fails)
    fused_adam: bool = True         # Adam's fused kernel (same update, much faster on CPU)
    gemm_max_pixels: int = 256      # CPU: convolutions on inputs of at most this many pixels run as GEMM; 0: off

    @classmethod
    def from_options(cls, opt) -> "Pix2PixConfig":
        """Any object with attributes (e.g. argparse.Namespace) or dict -> config; missing ones keep defaults."""
        if isinstance(opt, cls):
            return dataclasses.replace(opt)
        values = opt if isinstance(opt, dict) else vars(opt)
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})


def linear_lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """pix2pix's 'linear' policy: multiplier of the initial lr during (1-based) ``epoch``.

    1 for epochs 1..n_epochs, then falling by 1/(n_epochs_decay + 1) per epoch: the last epoch
    (n_epochs + n_epochs_decay) runs at 1/(n_epochs_decay + 1) of the initial lr.
    """
    return 1.0 - max(0, epoch - n_epochs) / float(n_epochs_decay + 1)


class Pix2PixModel:
    """Generator G (A -> B), discriminator D (sees A with B or with G(A)), their optimisers and schedules.

    Lists ``loss_names``, ``visual_names`` and ``model_names`` name the attributes ``loss_<name>``,
    ``<visual>`` and ``net<model>``, so logging and saving need no special cases.
    """

    loss_names = ["G_GAN", "G_L1", "D_real", "D_fake"]
    visual_names = ["real_A", "fake_B", "real_B"]
    model_names = ["G", "D"]

    def __init__(self, opt, is_train: bool = True, world: World | None = None):
        self.config = config = Pix2PixConfig.from_options(opt)
        self.world = world or World(device=config.device)  # torchrun's processes (util.gan.distributed)
        _check_config(config)
        self.device = torch.device(config.device)
        self.is_train = is_train
        self.model_names = ["G", "D"] if is_train else ["G"]  # test mode saves and loads G alone, as pix2pix
        self.use_amp = bool(config.amp) and self.device.type == "cuda"
        self.netG = networks.define_G(config.input_nc, config.output_nc, config.ngf, config.netG, config.norm,
                                      not config.no_dropout, config.init_type, config.init_gain,
                                      config.row_contrast or None).to(self.device)
        self.netD = networks.define_D(config.input_nc + config.output_nc, config.ndf, config.netD,
                                      config.n_layers_D, config.norm, config.init_type,
                                      config.init_gain).to(self.device)
        for net in (self.netG, self.netD):
            distributed.share_network(net, self.world)  # several processes: global batch norm, rank 0's weights
        if self.device.type == "cpu" and config.gemm_max_pixels > 0:
            for net in (self.netG, self.netD):
                gemm.use_gemm_convolutions(net, config.gemm_max_pixels)
        # the generator job03 scores and saves: the average of G's weights when kept, else G itself
        self.average = WeightAverage(self.netG, config.ema_decay) if is_train and config.ema_decay > 0 else None
        self.criterionGAN = losses.GANLoss(config.gan_mode).to(self.device)
        self.criterionL1 = losses.L1Loss(config.lambda_L1)
        self.criterionCE = None  # our colour cross-entropy, only when lambda_CE > 0
        if config.lambda_CE > 0:
            self.criterionCE = losses.ColourCrossEntropy(config.label_colors, config.ce_temperature,
                                                         config.ce_class_weights, config.lambda_CE).to(self.device)
        self.loss_names = type(self).loss_names + (["G_CE"] if self.criterionCE is not None else [])
        self.optimizer_G = self._adam(self.netG)
        self.optimizer_D = self._adam(self.netD)
        self.optimizers = [self.optimizer_G, self.optimizer_D]
        self.epoch_count = config.epoch_count
        self.schedulers = [self._scheduler(o) for o in self.optimizers]
        self.scalers = [torch.amp.GradScaler("cuda", enabled=self.use_amp) for _ in self.optimizers]
        self._forward_G, self._forward_D = self.netG, self.netD
        self.compiled = bool(config.compile) and self._try_compile()
        for name in self.loss_names:
            setattr(self, f"loss_{name}", torch.zeros(()))
        self.real_A = self.real_B = self.fake_B = None
        if not is_train:
            self.eval()

    # ------------------------------------------------------------------------------------------ setup

    def _adam(self, net: nn.Module) -> torch.optim.Optimizer:
        betas = (self.config.beta1, 0.999)
        if self.config.fused_adam:
            try:
                return torch.optim.Adam(net.parameters(), lr=self.config.lr, betas=betas, fused=True)
            except (RuntimeError, ValueError):
                pass  # a device without a fused kernel: the default implementation computes the same update
        return torch.optim.Adam(net.parameters(), lr=self.config.lr, betas=betas)

    def _scheduler(self, optimizer: torch.optim.Optimizer):
        config = self.config
        if config.lr_policy == "linear":
            # LambdaLR counts finished epochs from 0; the lr applies to epoch epoch_count + that count.
            return lr_scheduler.LambdaLR(optimizer, lambda done: linear_lr_factor(
                self.epoch_count + done, config.n_epochs, config.n_epochs_decay))
        if config.lr_policy == "step":
            return lr_scheduler.StepLR(optimizer, step_size=config.lr_decay_iters, gamma=0.1)
        if config.lr_policy == "plateau":
            return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.n_epochs, eta_min=0)

    def _try_compile(self) -> bool:
        """torch.compile both networks; on any failure keep eager mode and say so once.

        The compiled graphs are built now, on one throw-away training pass (D trainable, then D frozen, as in
        a step), so that a compiler failure shows here and not mid-training. The pass changes nothing: no
        optimiser step, and batch-norm statistics, gradients and random state are put back.
        """
        try:
            import torch._inductor.config as inductor_config
            inductor_config.fallback_random = True  # dropout masks from eager's generator: same numbers, same seed
            forward_G, forward_D = torch.compile(self.netG), torch.compile(self.netD)
            with _state_restored(self.netG, self.netD):
                size = 2 ** networks.unet_depth(self.config.netG) if self.config.netG.startswith("unet") else 256
                A = torch.zeros(1, self.config.input_nc, size, size, device=self.device)
                fake = forward_G(A)
                _set_requires_grad(self.netD, True)
                forward_D(torch.cat((A, fake.detach()), 1)).mean().backward()
                _set_requires_grad(self.netD, False)
                forward_D(torch.cat((A, fake), 1)).mean().backward()
                _set_requires_grad(self.netD, True)
        except Exception as exc:  # compilers fail in many ways; eager mode computes the same thing
            warnings.warn(f"torch.compile failed, training without it ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:200]})")
            return False
        self._forward_G, self._forward_D = forward_G, forward_D
        return True

    # ------------------------------------------------------------------------------------------ training

    def set_input(self, A, B: torch.Tensor | None = None) -> None:
        """A: (N, input_nc, H, W), B: (N, output_nc, H, W), both in [-1, 1] (B may be None for generating);
        or one batch dict from :class:`util.gan.dataset.AlignedPairDataset` ({'A', 'B', 'path'})."""
        if isinstance(A, dict):
            A, B = A["A"], A.get("B")
        self.real_A = A.to(self.device, non_blocking=True)
        self.real_B = None if B is None else B.to(self.device, non_blocking=True)

    def forward(self) -> None:
        with self._autocast():
            self.fake_B = self._forward_G(self.real_A)

    def optimize_parameters(self) -> None:
        """One pix2pix step: G(A), then update D, then update G (D frozen).

        With ``lambda_GAN`` 0 the adversarial term is off: D cannot steer G, so it is neither run nor
        trained (its losses stay 0), and a step costs about half as much.
        """
        if self.real_B is None:
            raise ValueError("optimize_parameters needs B: call set_input(A, B) first")
        self.forward()
        if self.config.lambda_GAN > 0:
            self._update_D()
        self._update_G()
        if self.average is not None:
            self.average.update(self.netG)

    def _update_D(self) -> None:
        _set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        with self._autocast():
            fake_AB = torch.cat((self.real_A, self.fake_B.detach()), 1)  # no gradient into G here
            loss_D_fake = self.criterionGAN(self._forward_D(fake_AB), False)
            real_AB = torch.cat((self.real_A, self.real_B), 1)
            loss_D_real = self.criterionGAN(self._forward_D(real_AB), True)
            loss_D = (loss_D_fake + loss_D_real) * 0.5
        self._step(loss_D, self.optimizer_D, self.scalers[1])
        self.loss_D_fake, self.loss_D_real = loss_D_fake.detach(), loss_D_real.detach()

    def _update_G(self) -> None:
        _set_requires_grad(self.netD, False)  # D's weights need no gradient while G learns
        self.optimizer_G.zero_grad(set_to_none=True)
        with self._autocast():
            if self.config.lambda_GAN > 0:
                fake_AB = torch.cat((self.real_A, self.fake_B), 1)  # D run again: its weights have just changed
                loss_G_GAN = self.criterionGAN(self._forward_D(fake_AB), True) * self.config.lambda_GAN
            else:
                loss_G_GAN = torch.zeros((), device=self.device)
            loss_G_L1 = self.criterionL1(self.fake_B, self.real_B)
            loss_G = loss_G_GAN + loss_G_L1
            if self.criterionCE is not None:
                loss_G_CE = self.criterionCE(self.fake_B, self.real_B)
                if self.world.distributed:
                    loss_G_CE = loss_G_CE * self._ce_share()
                loss_G = loss_G + loss_G_CE
                self.loss_G_CE = loss_G_CE.detach()
        self._step(loss_G, self.optimizer_G, self.scalers[0])
        self.loss_G_GAN, self.loss_G_L1 = loss_G_GAN.detach(), loss_G_L1.detach()

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler) -> None:
        if self.use_amp:
            scaler.scale(loss).backward()
            distributed.average_gradients(optimizer, self.world)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            distributed.average_gradients(optimizer, self.world)
            optimizer.step()

    def _ce_share(self) -> torch.Tensor:
        """On N processes: this process's share of the global batch's class weight, times N.

        The colour cross-entropy is a mean weighted by each pixel's class weight; scaled by this, the mean of the
        N processes' losses (and gradients) is the weighted mean over the global batch, as one process computes.
        """
        with torch.no_grad():
            local = self.criterionCE.weight[losses.nearest_colour_index(self.real_B, self.criterionCE.colors)].sum()
            return local * self.world.size / distributed.sum_over_ranks(local, self.world)

    def _autocast(self):
        return torch.autocast("cuda") if self.use_amp else contextlib.nullcontext()

    def get_current_losses(self) -> dict[str, float]:
        """{'G_GAN', 'G_L1', 'D_real', 'D_fake'} -> float of the last step (G_L1 includes lambda_L1)."""
        return {name: float(getattr(self, f"loss_{name}")) for name in self.loss_names}

    def get_current_visuals(self) -> dict[str, torch.Tensor]:
        """{'real_A', 'fake_B', 'real_B'} -> the last step's tensors, detached, in [-1, 1]."""
        return {name: getattr(self, name).detach() for name in self.visual_names if getattr(self, name) is not None}

    # ------------------------------------------------------------------------------------------ schedule

    @property
    def epoch(self) -> int:
        """The (1-based) epoch the next steps belong to."""
        return self.epoch_count + self.schedulers[0].last_epoch

    def get_learning_rate(self) -> float:
        return self.optimizer_G.param_groups[0]["lr"]

    def update_learning_rate(self, metric: float | None = None) -> float:
        """Call once at the end of each epoch (``metric`` feeds the plateau policy). Returns the new lr."""
        for scheduler in self.schedulers:
            if self.config.lr_policy == "plateau":
                scheduler.step(0.0 if metric is None else metric)
            else:
                scheduler.step()
        return self.get_learning_rate()

    # ------------------------------------------------------------------------------------------ modes

    def train(self) -> "Pix2PixModel":
        """Batch norm from batch statistics, dropout on (pix2pix's test script also runs G this way)."""
        self.netG.train(), self.netD.train()
        if self.average is not None:
            self.average.module.train()
        return self

    def eval(self) -> "Pix2PixModel":
        """Batch norm from running statistics, dropout off (pix2pix's --eval)."""
        self.netG.eval(), self.netD.eval()
        if self.average is not None:
            self.average.module.eval()
        return self

    @property
    def output_generator(self) -> nn.Module:
        """The generator that is scored and saved: the average of G's weights (--ema_decay), else G."""
        return self.netG if self.average is None else self.average.module

    def generate(self, A: torch.Tensor) -> torch.Tensor:
        """G(A) for A (N, input_nc, H, W) in [-1, 1] -> (N, output_nc, H, W) in [-1, 1], on A's device
        (G: :attr:`output_generator`, the average of G's weights when --ema_decay keeps one).

        Runs in the current mode (see :meth:`train` / :meth:`eval`; in train mode, as pix2pix's test script
        without --eval, dropout is on and batch norm uses, and updates, batch statistics). No gradients kept.
        """
        with torch.inference_mode(), self._autocast():
            fake = self.output_generator(A.to(self.device))
        return fake.float().to(A.device)

    # ------------------------------------------------------------------------------------------ saving

    def state_dict(self) -> dict:
        """The whole training state: both networks, optimisers, schedules, grad scalers, and the config."""
        return {"netG": self.netG.state_dict(), "netD": self.netD.state_dict(),
                "optimizer_G": self.optimizer_G.state_dict(), "optimizer_D": self.optimizer_D.state_dict(),
                "schedulers": [s.state_dict() for s in self.schedulers],
                "scalers": [s.state_dict() for s in self.scalers],
                "epoch_count": self.epoch_count, "config": dataclasses.asdict(self.config),
                **({"average": self.average.state_dict()} if self.average is not None else {})}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`, so training continues exactly where it stopped."""
        self.netG.load_state_dict(state["netG"])
        self.netD.load_state_dict(state["netD"])
        self.optimizer_G.load_state_dict(state["optimizer_G"])
        self.optimizer_D.load_state_dict(state["optimizer_D"])
        self.epoch_count = state["epoch_count"]
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        for scaler, saved in zip(self.scalers, state.get("scalers", [])):
            if saved:
                scaler.load_state_dict(saved)

    def save_state(self, path: str) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (for resuming)."""
        _atomic_save(self.state_dict(), path)

    def load_state(self, path: str) -> None:
        """Resume from a file written by :meth:`save_state`; UserError naming the file if it is not one."""
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except FileNotFoundError:
            raise UserError(f"{path}: no such training state") from None
        except Exception as exc:
            raise UserError(f"{path}: not a training state saved by job03_train.py ({type(exc).__name__})") from None
        if not isinstance(state, dict) or not {"netG", "netD", "optimizer_G", "schedulers"} <= state.keys():
            raise UserError(f"{path}: not a training state saved by job03_train.py (a bare network? "
                            f"use it with load_networks)")
        try:
            self.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise UserError(f"{path}: saved with other network settings ({' '.join(str(exc).split())[:160]})") from None

    def save_networks(self, save_dir: str, epoch_label: str | int, names: list[str] | None = None) -> list[str]:
        """Write ``<label>_net_G.pth`` and ``<label>_net_D.pth`` (bare state_dicts, pix2pix's layout), or only
        the networks in ``names``; G is :attr:`output_generator`. Returns paths."""
        paths = []
        for name in names or self.model_names:
            path = os.path.join(save_dir, f"{epoch_label}_net_{name}.pth")
            net = self.output_generator if name == "G" else getattr(self, f"net{name}")
            _atomic_save({k: v.detach().cpu() for k, v in net.state_dict().items()}, path)
            paths.append(path)
        return paths

    def load_networks(self, save_dir: str, epoch_label: str | int) -> None:
        """Load ``<label>_net_G.pth`` (and ``<label>_net_D.pth`` when present) written by pix2pix or us."""
        for name in self.model_names:
            path = os.path.join(save_dir, f"{epoch_label}_net_{name}.pth")
            if name == "D" and not os.path.exists(path):
                continue  # published checkpoints ship G alone
            net = getattr(self, f"net{name}")
            try:
                state = networks.clean_state_dict(torch.load(path, map_location=self.device, weights_only=True))
                state = {k: v for k, v in state.items() if k not in networks.DECODING_KEYS.values()}  # not a layer
                missing, unexpected = net.load_state_dict(state, strict=False)
            except FileNotFoundError:
                raise UserError(f"{path}: no such checkpoint") from None
            except Exception as exc:
                raise UserError(f"{path}: does not fit net{name} ({' '.join(str(exc).split())[:160]})") from None
            missing = [k for k in missing if not k.endswith("num_batches_tracked")]
            if missing or unexpected:
                raise UserError(f"{path}: does not fit net{name} ({len(missing)} missing, "
                                f"{len(unexpected)} unexpected tensors, e.g. '{(missing + unexpected)[0]}')")


# ---------------------------------------------------------------------------------------------- helpers

@contextlib.contextmanager
def _state_restored(*nets: nn.Module):
    """Run a throw-away pass: afterwards buffers (batch-norm statistics), gradients and RNG are as before."""
    buffers = [{k: v.clone() for k, v in net.named_buffers()} for net in nets]
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        for net, saved in zip(nets, buffers):
            net.load_state_dict(saved, strict=False)
            for param in net.parameters():
                param.grad = None
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def _set_requires_grad(net: nn.Module, flag: bool) -> None:
    for param in net.parameters():
        param.requires_grad_(flag)


def _atomic_save(obj, path: str) -> None:
    """torch.save to a temporary name in the same folder, then rename: no half-written file on a crash."""
    with atomic_path(path) as temp:
        torch.save(obj, temp)


def _check_config(config: Pix2PixConfig) -> None:
    if config.lr_policy not in LR_POLICIES:
        raise UserError(f"--lr_policy {config.lr_policy!r}: choose one of {', '.join(LR_POLICIES)}")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {config.device}: no CUDA device is available (use --device cpu)")
    if config.lambda_CE < 0 or config.ce_temperature <= 0:
        raise UserError("--lambda_CE must be >= 0 and --ce_temperature > 0")
    if config.lambda_L1 < 0 or config.lambda_GAN < 0 or config.lr <= 0:
        raise UserError("--lambda_L1 and --lambda_GAN must be >= 0 and --lr > 0")
