"""pix2pix networks: U-Net and ResNet generators, PatchGAN discriminators, GAN loss, weight init.

The architecture is that of pix2pix (Isola et al. 2017, and the authors' PyTorch code), written here in
our own words. Module nesting and attribute names are chosen so that ``state_dict()`` keys are exactly
the original ones, which is what lets generator weights saved by the original code (the published
``species_net_G.pth`` / ``community_net_G.pth``) load unchanged:

- U-Net: ``model.model.0.weight`` (outermost down-conv), ``model.model.1.model.1.weight`` (next block's
  down-conv), ``model.model.1.model.3.model.…`` (its sub-block), … Each skip block holds an
  ``nn.Sequential`` called ``model``.
- ResNet and PatchGAN: one ``nn.Sequential`` called ``model`` (``net`` for the pixel discriminator).

Two of the original's details are kept on purpose because trained weights depend on them:

- convolutions carry a bias only with instance norm (batch norm has its own shift; with no norm at all the
  original also drops the bias, so we do too);
- the U-Net skip connection carries the *activated* features (LeakyReLU(0.2) of the block's input), as the
  original's in-place LeakyReLU leaves them.

Image tensors are (N, C, H, W) float32 in [-1, 1]. U-Net 256 needs H and W divisible by 2**8 = 256.
"""

from __future__ import annotations

import os
import re

import torch
from torch import nn
from torch.nn import init

from util.errors import UserError
from util.files import atomic_path
from util.gan.norms import TILE_NORM_KEY, TileNorm, conv_bias, get_norm_layer, mark_norm

GENERATORS = ("unet_256", "unet_128", "resnet_9blocks", "resnet_6blocks")
DISCRIMINATORS = ("basic", "n_layers", "pixel")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")
RESNET_BLOCKS = {"resnet_6blocks": 6, "resnet_9blocks": 9}
ROW_CONTRAST_KEY = "row_contrast.quantile"   # the state_dict entry of a generator with a RowContrast input
# How the generator's colours are read, fitted on val (util.gan.calibration); not weights of any layer
DECODING_KEYS = {"offsets": "decoding.offsets", "min_region": "decoding.min_region"}


# ---------------------------------------------------------------------------------------------- U-Net

class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down-sample, run the inner block, up-sample, concatenate the skip.

    ``outer_nc`` channels come out (``input_nc`` go in, default ``outer_nc``); ``inner_nc`` channels run
    inside. The layer list ``model`` follows the original order, so parameter indices match:

    - outermost: [down-conv, inner block, ReLU, up-conv (with bias), Tanh]
    - innermost: [LeakyReLU, down-conv, ReLU, up-conv, norm]
    - middle:    [LeakyReLU, down-conv, norm, inner block, ReLU, up-conv, norm (, Dropout 0.5)]

    Kernels are 4x4 with stride 2, so each level halves then restores H and W.
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 norm: str = "batch", use_dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        norm_layer = get_norm_layer(norm)
        bias = conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        up_in = inner_nc if innermost else inner_nc * 2  # below the innermost level the skip doubles channels
        if outermost:
            layers = [down_conv, submodule, nn.ReLU(),
                      nn.ConvTranspose2d(up_in, outer_nc, kernel_size=4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(),
                      nn.ConvTranspose2d(up_in, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias),
                      norm_layer(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2), down_conv, norm_layer(inner_nc), submodule, nn.ReLU(),
                      nn.ConvTranspose2d(up_in, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias),
                      norm_layer(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # The skip carries LeakyReLU(x), as the original's in-place LeakyReLU leaves x.
        activated = self.model[0](x)
        inner = activated
        for layer in self.model[1:]:
            inner = layer(inner)
        return torch.cat([activated, inner], 1)


class UnetGenerator(nn.Module):
    """U-Net with ``num_downs`` 2x down-samplings (8 for 256x256 tiles, 7 for 128x128).

    Channels go ngf -> 2 ngf -> 4 ngf -> 8 ngf and stay at 8 ngf below; dropout (when asked) sits in the
    ``num_downs - 5`` blocks just above the innermost one (three for U-Net 256), as in pix2pix.
    ``row_contrast`` (a quantile in (0, 1), or None): see :class:`RowContrast`.
    """

    def __init__(self, input_nc: int, output_nc: int, num_downs: int, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False, row_contrast: float | None = None):
        super().__init__()
        if num_downs < 5:
            raise UserError(f"a U-Net needs at least 5 down-samplings, got {num_downs}")
        self.input_nc = input_nc
        self.row_contrast = RowContrast(row_contrast) if row_contrast else None
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc * (2 if row_contrast else 1),
                                             submodule=block, outermost=True, norm=norm)
        mark_norm(self, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x if self.row_contrast is None else self.row_contrast(x))


class RowContrast(nn.Module):
    """Input channels plus each channel minus its frequency row's ``quantile`` over time (our addition).

    A pixel is labelled when its source stands above the background's level at that frequency; a row's low
    quantile over the tile's time (0.2: the level that 80 % of the row's columns exceed) estimates that level
    from the tile itself, so the second channel shows each pixel's height above its row's floor whatever the
    site's noise level. (N, C, H, W) -> (N, 2C, H, W): the input first, then the contrast. The quantile is a
    buffer, so it travels in the weights and :func:`load_generator` rebuilds the layer from them.
    """

    def __init__(self, quantile: float):
        super().__init__()
        if not 0.0 < quantile < 1.0:
            raise UserError(f"--row_contrast {quantile:g}: a quantile between 0 and 1 (0 = off)")
        self.register_buffer("quantile", torch.tensor(float(quantile)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch.quantile's linear interpolation, from a sort (torch.quantile refuses inputs of 2**24 values,
        # a GPU batch of 256 tiles)
        position = float(self.quantile) * (x.shape[-1] - 1)
        low, fraction = int(position), position - int(position)
        ordered = x.float().sort(dim=-1).values
        high = min(low + 1, x.shape[-1] - 1)
        floor = ordered[..., low:low + 1] + fraction * (ordered[..., high:high + 1] - ordered[..., low:low + 1])
        return torch.cat([x, x - floor.to(x.dtype)], 1)


# ---------------------------------------------------------------------------------------------- ResNet

class ResnetBlock(nn.Module):
    """x + [pad, conv3x3, norm, ReLU, (Dropout 0.5), pad, conv3x3, norm](x), reflection padding."""

    def __init__(self, dim: int, norm: str = "batch", use_dropout: bool = False):
        super().__init__()
        norm_layer = get_norm_layer(norm)
        bias = conv_bias(norm)
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, bias=bias), norm_layer(dim), nn.ReLU()]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, bias=bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """7x7 conv, two stride-2 down-samplings, ``n_blocks`` residual blocks at 4 ngf, two up-samplings, 7x7 conv,
    Tanh; ``row_contrast`` as in :class:`UnetGenerator`."""

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False, n_blocks: int = 9, row_contrast: float | None = None):
        super().__init__()
        norm_layer = get_norm_layer(norm)
        bias = conv_bias(norm)
        self.input_nc = input_nc
        self.row_contrast = RowContrast(row_contrast) if row_contrast else None
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc * (2 if row_contrast else 1), ngf, kernel_size=7, bias=bias),
                  norm_layer(ngf), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=bias),
                       norm_layer(ngf * mult * 2), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4, norm=norm, use_dropout=use_dropout) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       norm_layer(ngf * mult // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        mark_norm(self, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x if self.row_contrast is None else self.row_contrast(x))


# ---------------------------------------------------------------------------------------------- discriminators

class NLayerDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` stride-2 4x4 convs (channels ndf, 2 ndf, 4 ndf, capped at 8 ndf), one stride-1
    conv, then a 1-channel stride-1 conv giving one logit per patch.

    With n_layers 3 each logit sees a 70x70 patch; a 256x256 input gives a 30x30 map of logits.
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        norm_layer = get_norm_layer(norm)
        bias = conv_bias(norm)
        layers = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=stride, padding=1, bias=bias),
                       norm_layer(ndf * mult), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: one logit per pixel (1x1 convs ndf, 2 ndf, 1)."""

    def __init__(self, input_nc: int, ndf: int = 64, norm: str = "batch"):
        super().__init__()
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=bias), get_norm_layer(norm)(ndf * 2), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# ---------------------------------------------------------------------------------------------- init

def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """Initialise conv / linear weights (``init_type`` with ``init_gain``) and zero their biases; batch-norm
    scales ~ N(1, init_gain), shifts 0. Returns ``net``."""
    if init_type not in INIT_TYPES:
        raise UserError(f"--init_type {init_type!r}: choose one of {', '.join(INIT_TYPES)}")

    def init_module(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init_type == "normal":
                init.normal_(m.weight, 0.0, init_gain)
            elif init_type == "xavier":
                init.xavier_normal_(m.weight, gain=init_gain)
            elif init_type == "kaiming":
                init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                init.orthogonal_(m.weight, gain=init_gain)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, TileNorm)):
            init.normal_(m.weight, 1.0, init_gain)
            init.zeros_(m.bias)

    with torch.no_grad():
        net.apply(init_module)
    return net


# ---------------------------------------------------------------------------------------------- factories

def define_G(input_nc: int, output_nc: int, ngf: int = 64, netG: str = "unet_256", norm: str = "batch",
             use_dropout: bool = True, init_type: str = "normal", init_gain: float = 0.02,
             row_contrast: float | None = None) -> nn.Module:
    """Build and initialise a generator: 'unet_256', 'unet_128', 'resnet_9blocks' or 'resnet_6blocks'.

    Also accepts 'unet_<N>' for any N = 2**k >= 32 (k down-samplings). pix2pix trains with dropout on.
    ``row_contrast``: a :class:`RowContrast` quantile in front of the first convolution (None or 0: none).
    """
    if netG in RESNET_BLOCKS:
        net = ResnetGenerator(input_nc, output_nc, ngf, norm, use_dropout, RESNET_BLOCKS[netG], row_contrast)
    else:
        net = UnetGenerator(input_nc, output_nc, unet_depth(netG), ngf, norm, use_dropout, row_contrast)
    return init_weights(net, init_type, init_gain)


def define_D(input_nc: int, ndf: int = 64, netD: str = "basic", n_layers_D: int = 3, norm: str = "batch",
             init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """Build and initialise a discriminator: 'basic' (70x70 PatchGAN), 'n_layers' (``n_layers_D``) or 'pixel'.

    ``input_nc`` is A's channels + B's channels (pix2pix's discriminator sees the pair).
    """
    if netD == "basic":
        net = NLayerDiscriminator(input_nc, ndf, 3, norm)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm)
    else:
        raise UserError(f"--netD {netD!r}: choose one of {', '.join(DISCRIMINATORS)}")
    return init_weights(net, init_type, init_gain)


def unet_depth(netG: str) -> int:
    """'unet_256' -> 8 down-samplings; 'unet_<2**k>' -> k."""
    match = re.fullmatch(r"unet_(\d+)", netG)
    size = int(match.group(1)) if match else 0
    if size < 32 or size & (size - 1):
        raise UserError(f"--netG {netG!r}: choose one of {', '.join(GENERATORS)} (or unet_<power of 2>)")
    return size.bit_length() - 1


# ---------------------------------------------------------------------------------------------- loading weights

def clean_state_dict(state_dict: dict) -> dict:
    """Drop DataParallel's 'module.' prefix and the norm layers' ``num_batches_tracked`` counters.

    The counters are absent from checkpoints saved before PyTorch 0.4.1 and are not used by pix2pix's
    training (momentum is fixed), so like pix2pix we do not require them.
    """
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
    return {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}


def _strip_instance_norm_stats(state_dict: dict) -> dict:
    """Old pix2pix instance norms kept running statistics (no affine weights); today's do not keep them."""
    return {k: v for k, v in state_dict.items()
            if not (k.endswith(("running_mean", "running_var")) and k.rsplit(".", 1)[0] + ".weight" not in state_dict)}


def infer_generator_config(state_dict: dict) -> dict:
    """Read a generator's architecture from its weights (U-Net or ResNet, pix2pix layout).

    Returns ``dict(netG, input_nc, output_nc, ngf, norm)`` plus ``num_downs`` for a U-Net or ``n_blocks``
    for a ResNet, and ``row_contrast`` (its quantile) for a generator with a :class:`RowContrast` input
    (``input_nc`` is then the channels it is fed). ``norm`` is 'tile' when the weights say so (:data:`TILE_NORM_KEY`),
    else 'batch' when running statistics are present,
    else 'instance' when the convolutions have biases, else 'none'. Raises ValueError for any other weights.
    """
    state_dict = clean_state_dict(state_dict)
    if "model.model.0.weight" in state_dict:
        config = _infer_unet(state_dict)
    elif any(".conv_block." in k for k in state_dict):
        config = _infer_resnet(state_dict)
    else:
        raise ValueError("neither a pix2pix U-Net ('model.model.0.weight') nor a ResNet generator")
    if ROW_CONTRAST_KEY in state_dict:
        config["row_contrast"] = float(state_dict[ROW_CONTRAST_KEY])
        config["input_nc"] //= 2   # the first convolution also sees the contrast channels
    if TILE_NORM_KEY in state_dict:
        config["norm"] = "tile"
    elif any(k.endswith("running_mean") and k[:-len("running_mean")] + "weight" in state_dict for k in state_dict):
        config["norm"] = "batch"
    else:
        bias_key = "model.model.1.model.1.bias" if config["netG"].startswith("unet") else "model.1.bias"
        config["norm"] = "instance" if bias_key in state_dict else "none"
    return config


def _conv_weight(state_dict: dict, key: str) -> torch.Tensor:
    weight = state_dict.get(key)
    if weight is None or weight.dim() != 4:
        raise ValueError(f"no 4-D convolution weight '{key}'")
    return weight


def _infer_unet(state_dict: dict) -> dict:
    first = _conv_weight(state_dict, "model.model.0.weight")
    last = _conv_weight(state_dict, "model.model.3.weight")  # ConvTranspose2d weights are (in, out, kH, kW)
    depth, block = 1, "model.model.1."  # the outermost block holds its sub-block at index 1, the others at 3
    while f"{block}model.1.weight" in state_dict:
        depth, block = depth + 1, f"{block}model.3."
    return {"netG": f"unet_{2 ** depth}", "num_downs": depth, "input_nc": int(first.shape[1]),
            "output_nc": int(last.shape[1]), "ngf": int(first.shape[0])}


def _infer_resnet(state_dict: dict) -> dict:
    first = _conv_weight(state_dict, "model.1.weight")
    n_blocks = len({k.split(".")[1] for k in state_dict if ".conv_block." in k})
    last_index = max(int(k.split(".")[1]) for k in state_dict if re.fullmatch(r"model\.\d+\.weight", k))
    last = _conv_weight(state_dict, f"model.{last_index}.weight")
    # a residual block's second conv sits at index 6 after a Dropout, at 5 without one; the index must match
    dropout = not any(re.search(r"\.conv_block\.5\.weight$", k) for k in state_dict)
    return {"netG": f"resnet_{n_blocks}blocks", "n_blocks": n_blocks, "input_nc": int(first.shape[1]),
            "output_nc": int(last.shape[0]), "ngf": int(first.shape[0]), "dropout": dropout}


def build_generator(config: dict, use_dropout: bool = True) -> nn.Module:
    """The (uninitialised) generator a config from :func:`infer_generator_config` describes."""
    if config["netG"].startswith("resnet"):
        return ResnetGenerator(config["input_nc"], config["output_nc"], config["ngf"], config["norm"],
                               config.get("dropout", use_dropout), config["n_blocks"], config.get("row_contrast"))
    return UnetGenerator(config["input_nc"], config["output_nc"], config["num_downs"], config["ngf"],
                         config["norm"], use_dropout, config.get("row_contrast"))


def _read_state_dict(path: str, device) -> dict:
    try:
        loaded = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder, not a generator checkpoint (.pth)") from None
    except Exception as exc:  # unpickling garbage fails in many ways (IndexError, UnpicklingError, ...)
        reason = " ".join(str(exc).split())[:120]
        raise UserError(f"{path}: not a PyTorch checkpoint ({type(exc).__name__}: {reason})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("netG"), dict):
        loaded = loaded["netG"]  # a full training state saved by util.model
    if not isinstance(loaded, dict) or not loaded or not all(torch.is_tensor(v) for v in loaded.values()):
        raise UserError(f"{path}: not a generator state_dict (a dict of weight tensors)")
    return loaded


def load_generator(path: str, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load generator weights saved by pix2pix or by this package -> (net, config).

    Accepts a bare state_dict (the published ``*_net_G.pth``), one saved from DataParallel ('module.'
    keys), or a full training state from :meth:`util.gan.model.Pix2PixModel.state_dict`. The architecture
    (U-Net depth or ResNet blocks, channels in/out, ngf, norm) is read from the weights themselves, and so is
    ``config['decoding']`` when job03 fitted how its colours are read (:func:`add_decoding`); dropout
    layers hold no weights and are built in, as pix2pix trains with them. The net is returned on
    ``device`` in train mode, as pix2pix's test script runs it (call ``net.eval()`` for running statistics).
    Anything that is not such a checkpoint raises UserError naming ``path``.
    """
    state_dict = clean_state_dict(_read_state_dict(os.fspath(path), device))
    decoding = _pop_decoding(state_dict, path)
    try:
        config = infer_generator_config(state_dict)
        if decoding:
            config["decoding"] = decoding
        if config["norm"] == "instance":
            state_dict = _strip_instance_norm_stats(state_dict)
        net = build_generator(config)
        missing, unexpected = net.load_state_dict(state_dict, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    except (ValueError, RuntimeError, KeyError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise UserError(f"{path}: not pix2pix generator weights ({reason})") from None
    if missing or unexpected:
        odd = (missing + unexpected)[0]
        raise UserError(f"{path}: not pix2pix generator weights ({len(missing)} missing and "
                        f"{len(unexpected)} unexpected tensors, e.g. '{odd}')")
    return net.to(device), config


def _pop_decoding(state_dict: dict, path: str) -> dict | None:
    """Take the fitted decoding's entries out of a state_dict -> ``{'offsets': [...], 'min_region': int}``."""
    found = {name: state_dict.pop(key) for name, key in DECODING_KEYS.items() if key in state_dict}
    if not found:
        return None
    try:
        return {"offsets": [float(v) for v in found["offsets"].flatten()], "min_region": int(found["min_region"])}
    except (KeyError, TypeError, ValueError, RuntimeError):
        raise UserError(f"{path}: a damaged fitted decoding ({', '.join(DECODING_KEYS.values())})") from None


def read_decoding(path: str) -> dict | None:
    """The decoding job03 fitted into a generator file (:func:`add_decoding`), or None."""
    return _pop_decoding(clean_state_dict(_read_state_dict(os.fspath(path), "cpu")), path)


def add_decoding(path: str, decoding: dict) -> None:
    """Write a fitted decoding (``{'offsets': [...], 'min_region': int}``, :mod:`util.gan.calibration`) into
    the generator weights at ``path`` (atomically), replacing any earlier fit; the layers are untouched."""
    state_dict = _read_state_dict(os.fspath(path), "cpu")
    state_dict[DECODING_KEYS["offsets"]] = torch.tensor(decoding["offsets"], dtype=torch.float32)
    state_dict[DECODING_KEYS["min_region"]] = torch.tensor(int(decoding["min_region"]))
    with atomic_path(path) as temp:
        torch.save(state_dict, temp)
