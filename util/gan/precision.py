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


def cpu_has_bf16_units(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX512-BF16 or AMX-BF16, from Linux's CPU flags);
    False where that cannot be read (another system)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return bool({"avx512_bf16", "amx_bf16"} & set(line.partition(":")[2].split()))
    except OSError:
        pass
    return False


def precision_hint(device: str | torch.device, precision: str, cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """One line for a float32 run on a CPU with bf16 units, where bfloat16 would be about twice as fast; else None."""
    if precision == "float32" and torch.device(device).type == "cpu" and cpu_has_bf16_units(cpuinfo):
        return ("this CPU has bf16 units: --precision bfloat16 runs the generator about twice as fast, "
                "with a few pixels changing class (README, Speed)")
    return None
