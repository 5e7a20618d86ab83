"""The generator's arithmetic at inference: float32 (the default) or bfloat16 under autocast.

One place for the choice, so that job04's scores on test pairs and its runs over recordings are made with
the same arithmetic when a user asks for it. bfloat16 keeps float32's range with 8 bits of mantissa: about
twice as fast on GPUs and on CPUs with bf16 units (AVX512-BF16, AMX), much slower on CPUs without them, and
a pixel whose colour lies near the boundary between two palette colours may change class.
"""

from __future__ import annotations

import contextlib

import torch

from util.errors import UserError

PRECISIONS = ("float32", "bfloat16")        # the first is the default


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`; else a one-line UserError."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def precision_context(device: str | torch.device, precision: str):
    """The context a generator's forward pass runs in: nothing for float32, autocast for bfloat16."""
    if check_precision(precision) == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
