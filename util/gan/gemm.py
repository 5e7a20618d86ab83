"""CPU speed for pix2pix's networks: convolutions on small inputs computed as one matrix product.

:func:`use_gemm_convolutions` swaps a network's convolutions for :class:`GemmConv2d` /
:class:`GemmConvTranspose2d` in place (the same weights and results); job03 does it on the CPU
(``Pix2PixConfig.gemm_max_pixels``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class GemmConv2d(nn.Conv2d):
    """nn.Conv2d that computes small inputs as one matrix product (im2col + GEMM).

    The same convolution, summed in another order. On CPU, oneDNN is slow on the U-Net's deep layers
    (512-1024 channels, 1-16 pixels: e.g. 23 ms for a 17 M multiply-add up-convolution, most of it spent
    re-laying out weights that change every step); a plain GEMM reads the weights as they are. Inputs
    larger than ``max_pixels`` (H x W), where oneDNN is as fast or faster, take the ordinary path.
    """

    max_pixels = 256

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h * w > self.max_pixels or self.groups != 1 or self.padding_mode != "zeros" or x.dim() != 4:
            return super().forward(x)
        out_h, out_w = (_conv_out(size, k, s, p, d) for size, k, s, p, d in
                        zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation))
        columns = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C_in*kh*kw, L)
        out = self.weight.reshape(self.out_channels, -1) @ columns
        if self.bias is not None:
            out = out + self.bias[:, None]
        return out.reshape(x.shape[0], self.out_channels, out_h, out_w)


class GemmConvTranspose2d(nn.ConvTranspose2d):
    """nn.ConvTranspose2d that computes small inputs as one matrix product and col2im (see GemmConv2d)."""

    max_pixels = 256

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h * w > self.max_pixels or self.groups != 1 or output_size is not None or x.dim() != 4:
            return super().forward(x, output_size)
        out_h, out_w = ((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, k, s, p, d, op in
                        zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding))
        columns = self.weight.reshape(self.in_channels, -1).t() @ x.reshape(x.shape[0], self.in_channels, h * w)
        out = F.fold(columns, (out_h, out_w), self.kernel_size, self.dilation, self.padding, self.stride)
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1, 1, 1)
        return out


def _conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def use_gemm_convolutions(net: nn.Module, max_pixels: int = 256) -> int:
    """Let ``net``'s convolutions compute inputs of at most ``max_pixels`` pixels by GEMM (see GemmConv2d).

    Weights, state_dict keys and results (to float rounding) are unchanged. Returns the number of layers
    switched. Measured on a 2-core AVX-512 CPU, U-Net 256 + PatchGAN: 16x16 and smaller is the best limit.
    """
    switched = 0
    for module in net.modules():
        if type(module) in (nn.Conv2d, nn.ConvTranspose2d):
            module.__class__ = GemmConv2d if type(module) is nn.Conv2d else GemmConvTranspose2d
        if isinstance(module, (GemmConv2d, GemmConvTranspose2d)):
            module.max_pixels = max_pixels
            switched += 1
    return switched
