"""The generator, wrapped for inference: uint8 grey tiles in, RGB in 0..255 out, on a device, maybe compiled."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from util.errors import UserError
from util.gan.images import to_signed, to_unsigned
from util.gan.precision import PRECISIONS, check_precision, precision_context

DEFAULT_BATCH_SIZE = 8                      # tiles per generator call: the fastest float32 setting measured


class TileTranslator:
    """A generator ready for inference: grey tiles in, RGB images out.

    ``translator(tiles)``: uint8 (N, rows, frames) grey tiles -> float32 (N, 3, rows, frames) in 0..255.
    The generator is put in eval mode (batch norm uses its running statistics, dropout is off: a tile's
    output does not depend on the others in its batch) and run under ``torch.inference_mode``. Input grey is
    scaled to [-1, 1] (pixels / 127.5 - 1) and replicated when the network wants ``input_nc`` 3.

    ``precision``: 'float32' (default) or 'bfloat16' (autocast; what it costs and gains:
    :mod:`util.gan.precision`).
    ``channels_last``: NHWC memory layout (faster for the U-Net on our CPU, float32 and bfloat16 alike, and
    on GPUs). ``compile``: ``torch.compile`` with inductor weight freezing; pays off
    on long recordings (the first call takes tens of seconds on a CPU); falls back to eager with a warning if
    compiling fails. Compiled, every call is padded to ``batch_size`` tiles so that no second shape is compiled.
    """

    def __init__(self, generator: nn.Module, device: str | torch.device = "cpu", input_nc: int | None = None,
                 compile: bool = False, channels_last: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
                 precision: str = PRECISIONS[0]):
        check_precision(precision)
        self.device = torch.device(device)
        self.input_nc = input_nc if input_nc is not None else _first_conv_channels(generator)
        if self.input_nc not in (1, 3):
            raise UserError(f"the generator takes {self.input_nc} input channels; grey tiles give 1 (or 3, replicated)")
        self.precision, self.channels_last = precision, channels_last
        self.compile, self.batch_size = compile, batch_size
        self.net = generator.to(self.device).eval()
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self._compiled: nn.Module | None = None

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        n_tiles = len(tiles)
        if self.compile:
            tiles = _pad_batch(tiles, self.batch_size)
        x = torch.from_numpy(np.ascontiguousarray(tiles)).to(self.device)
        x = to_signed(x.unsqueeze(1))
        if self.input_nc == 3:
            x = x.expand(-1, 3, -1, -1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), precision_context(self.device, self.precision):
            y = self._forward(x)
            if y.shape[1] < 3:
                raise UserError(f"the generator makes {y.shape[1]}-channel images; colour labels need 3 (RGB)")
            rgb = to_unsigned(y[:n_tiles, :3])
        return rgb.cpu().numpy()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compile and self._compiled is None:
            try:
                compiled = torch.compile(self.net, dynamic=False, options={"freezing": True})
                y = compiled(x)  # compiles now
                self._compiled = compiled
                return y
            except Exception as exc:  # no C compiler, an unsupported op ...: eager gives the same numbers
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                              f"running the generator eagerly")
                self.compile = False
        return self.net(x) if self._compiled is None else self._compiled(x)


def as_translator(generator, device: str | torch.device = "cpu", input_nc: int | None = None,
                  compile: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, precision: str = PRECISIONS[0]):
    """An ``nn.Module`` generator -> a :class:`TileTranslator`; a translator (any callable with its contract) as is."""
    if isinstance(generator, nn.Module):
        return TileTranslator(generator, device, input_nc, compile=compile, batch_size=batch_size,
                              precision=precision)
    if not callable(generator):
        raise TypeError(f"expected a generator module or a tile translator, got {type(generator).__name__}")
    return generator


def _first_conv_channels(net: nn.Module) -> int:
    if isinstance(getattr(net, "input_nc", None), int):   # our generators say it (their first conv may see more)
        return net.input_nc
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise UserError("the generator has no convolution; give input_nc explicitly")


def _pad_batch(tiles: np.ndarray, batch_size: int) -> np.ndarray:
    if len(tiles) >= batch_size:
        return tiles
    pad = np.zeros((batch_size - len(tiles),) + tiles.shape[1:], tiles.dtype)
    return np.concatenate([tiles, pad])
