"""Training one model on several processes, launched by ``torchrun`` (PyTorch's own DDP launcher).

``torchrun --nproc_per_node N job03_train.py ...`` starts N copies of job03; each finds its place from the
environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR / MASTER_PORT) and joins one process
group: gloo on the CPU, NCCL on CUDA (process r of a node on GPU ``cuda:LOCAL_RANK``). Without those variables
(a plain ``python job03_train.py``) nothing here does anything and a run is exactly what it was.

What is kept the same on every process (each function below is one of these, and a no-op for one process):

- the weights: the same seed builds the same networks, and rank 0's are broadcast anyway (:func:`share_network`);
- the data: every step takes one *global* batch of ``--batch_size`` x N pairs from the epoch's draw, and process
  r takes pairs r x batch_size ... (r + 1) x batch_size - 1 of it (:func:`local_batches`);
- the gradients: summed over processes and divided by N after each backward pass, before the optimiser's step
  (:func:`average_gradients`), so every process takes the same step;
- batch norm: statistics over the global batch, forward and backward (:class:`GlobalBatchNorm2d`), so a run on
  N processes computes what one process computes on the global batch (tile norm, util.gan.norms, needs none);
- stopping: a stop request (Ctrl-C, SIGTERM) on any process stops every process after the same step (:func:`any_rank`).

Only rank 0 reads and writes the run folder (logs, scores, checkpoints): it tells the others what it decided
(:func:`broadcast_object`) and collects what only they know, their random states (:func:`gather_objects`).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from util.errors import UserError

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
# Rank 0 scores the val split at each epoch's end while the others wait; a large split takes minutes.
TIMEOUT = datetime.timedelta(minutes=60)


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one model; the default is a run on its own."""

    rank: int = 0          # 0 .. size - 1 over all nodes; rank 0 writes the run folder
    size: int = 1          # number of processes (torchrun's WORLD_SIZE)
    local_rank: int = 0    # rank on this node: the GPU it uses
    device: str = "cpu"    # where this process's tensors (and those it exchanges) live

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def start(device: str) -> World:
    """Join torchrun's process group (gloo for ``device`` cpu, NCCL for cuda); a run on its own gets ``World()``.

    With CUDA, process r of a node uses ``cuda:LOCAL_RANK``, whatever ``device`` names. A torchrun of one
    process is a run on its own.
    """
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return World(device=device)
    rank, size, local_rank = (int(os.environ[name]) for name in TORCHRUN_VARIABLES)
    if torch.device(device).type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"torchrun started more processes on this node than it has GPUs "
                            f"({torch.cuda.device_count()}); use --nproc_per_node {torch.cuda.device_count()}")
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl", timeout=TIMEOUT, device_id=torch.device(device))
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return World(rank, size, local_rank, device)


def stop(world: World) -> None:
    """Leave the process group (so that the process exits cleanly, and a test may start another)."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def local_batches(order: list[int], batch_size: int, world: World) -> list[list[int]]:
    """This process's pairs at each step of an epoch whose draw is ``order``.

    On its own: batches of ``batch_size``, the last one possibly short (pix2pix). On N processes: global
    batches of batch_size x N, of which process r takes the r-th slice of batch_size pairs; the pairs at the
    end of the draw that do not fill a global batch are left out, so that every process has batch_size pairs
    at every step (each epoch draws anew, so no pair is left out for good).
    """
    if not world.distributed:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    step = batch_size * world.size
    first = world.rank * batch_size
    return [order[i + first:i + first + batch_size] for i in range(0, len(order) - step + 1, step)]


def barrier(world: World) -> None:
    """Wait until every process gets here (the others wait while rank 0 scores and saves)."""
    if world.distributed:
        dist.barrier()


def any_rank(flag: bool, world: World) -> bool:
    """True on every process when ``flag`` is True on any: a stop request reaches all at the same step."""
    if not world.distributed:
        return flag
    value = torch.tensor([int(flag)], device=world.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def mean_values(values: dict[str, float], world: World) -> dict[str, float]:
    """The mean over processes of each value (the losses of the global batch, for the log)."""
    if not world.distributed:
        return values
    summed = torch.tensor(list(values.values()), dtype=torch.float64, device=world.device)
    dist.all_reduce(summed)
    return {name: float(value) / world.size for name, value in zip(values, summed.tolist())}


def sum_over_ranks(value: torch.Tensor, world: World) -> torch.Tensor:
    """The sum of a tensor over processes (no gradient)."""
    if not world.distributed:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value


def broadcast_object(obj, world: World):
    """Rank 0's ``obj`` on every process (anything picklable: a decision, an error, a file's bytes)."""
    if not world.distributed:
        return obj
    box = [obj if world.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj, world: World) -> list | None:
    """Every process's ``obj`` in rank order (None for a run on its own)."""
    if not world.distributed:
        return None
    gathered = [None] * world.size
    dist.all_gather_object(gathered, obj)
    return gathered


def share_network(net: nn.Module, world: World) -> nn.Module:
    """Prepare ``net`` for training on every process: global batch norm, and rank 0's weights and buffers."""
    if not world.distributed:
        return net
    use_global_batch_norm(net)
    with torch.no_grad():
        for tensor in list(net.parameters()) + list(net.buffers()):
            dist.broadcast(tensor.data, src=0)
    return net


def average_gradients(optimizer: torch.optim.Optimizer, world: World) -> None:
    """Replace each gradient of the optimiser's parameters by its mean over processes (one all-reduce).

    Parameters without a gradient (None) keep none: the computation graph, and so which parameters get a
    gradient, is the same on every process.
    """
    if not world.distributed:
        return
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])  # [all gradient values]
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def same_weights(nets: list[nn.Module], world: World) -> bool:
    """Whether every process holds the same weights and buffers (compares a float64 fingerprint of them)."""
    if not world.distributed:
        return True
    fingerprint = torch.zeros(2, dtype=torch.float64, device=world.device)
    for net in nets:
        for index, tensor in enumerate(list(net.parameters()) + list(net.buffers())):
            values = tensor.detach().double().reshape(-1)
            fingerprint[0] += values.sum()
            fingerprint[1] += (values * values).sum() * (index + 1)
    lowest, highest = fingerprint.clone(), fingerprint.clone()
    dist.all_reduce(lowest, op=dist.ReduceOp.MIN)
    dist.all_reduce(highest, op=dist.ReduceOp.MAX)
    return bool(torch.equal(lowest, highest))


# ---------------------------------------------------------------------------------------------- batch norm

class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose backward pass sums the gradients over processes too."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d whose training statistics are those of the global batch (every process's share).

    The mean, then the variance around it, are summed over processes (two all-reduces of one value per
    channel), and the backward pass sums their gradients over processes the same way, so N processes
    compute, to float rounding, what nn.BatchNorm2d computes on the global batch in one process. PyTorch's
    nn.SyncBatchNorm does this on GPUs only; this one runs on any backend, so CPU and CUDA runs compute
    the same thing. Same parameters, buffers and state_dict keys as nn.BatchNorm2d. Outside training (or
    without gradients, as in scoring) it is plain batch norm, with no communication.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        values = x.float()                                              # [N, C, H, W]
        count = torch.tensor([values.numel() // values.shape[1]], dtype=values.dtype, device=values.device)
        sums = _SumOverRanks.apply(torch.cat([values.sum((0, 2, 3)), count]))
        total = sums[-1].detach()
        mean = sums[:-1] / total                                        # [C]
        centred = values - mean[None, :, None, None]
        var = _SumOverRanks.apply((centred * centred).sum((0, 2, 3))) / total
        self._update_running_stats(mean.detach(), var.detach(), float(total))
        out = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            out = out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return out.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: float) -> None:
        """As nn.BatchNorm2d: momentum (or a cumulative mean when None), unbiased variance."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        unbiased = var * count / max(count - 1.0, 1.0)
        self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)


def use_global_batch_norm(net: nn.Module) -> int:
    """Make every nn.BatchNorm2d of ``net`` a :class:`GlobalBatchNorm2d`, in place (the same parameter and
    buffer objects, so optimisers built on them stay valid). Returns the number of layers switched."""
    switched = 0
    for module in net.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = GlobalBatchNorm2d
            switched += 1
    return switched
