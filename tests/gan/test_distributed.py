"""job03 under torchrun: two CPU processes (gloo) train one model, stop together, resume exactly, equal one process.

Two processes are started once (torch.multiprocessing, with the environment torchrun sets: RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and run one training step, three trainings and job03's resume in turn.
"""

import contextlib
import csv
import importlib
import io
import os
import shutil
import signal
import socket

import pytest
import torch
import torch.multiprocessing as mp

import job03_train
from util.errors import UserError
from util.gan import distributed
from util.gan.distributed import World, local_batches
from util.gan.model import Pix2PixConfig, Pix2PixModel
from util.gan.options import finish_options, train_parser
from util.gan.train import train
from util.synth import generate_dataset

train_module = importlib.import_module("util.gan.train")   # the module (util.gan.train is also the function)

# 4 pairs, 2 epochs; with the GAN term, so that D (its batch norm, optimiser and gradients) is shared too;
# a U-Net 128 on 128-frame crops of the tiles keeps the test fast
TINY = ["--preset", "demo", "--epoch_size", "0", "--lambda_GAN", "1", "--ngf", "8", "--ndf", "8", "--netG", "unet_128",
        "--preprocess", "crop", "--crop_size", "128", "--n_epochs", "1",
        "--n_epochs_decay", "1", "--print_freq", "1", "--gpu_ids", "-1", "--seed", "3",
        "--lpips_weights", os.path.join(os.sep, "nowhere", "alexnet.pth")]   # LPIPS skipped: faster
DROPOUT = ["--dropout"]        # each process draws its own masks: its RNG states must survive a resume
ONE_EPOCH = ["--n_epochs_decay", "0"]


def options(dataroot, checkpoints, *extra):
    return finish_options(train_parser("test").parse_args(
        ["--dataroot", dataroot, "--checkpoints_dir", str(checkpoints), *TINY, *extra]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def loss_rows(folder):
    with open(folder / "species" / "loss_log.csv") as handle:
        return [{k: float(v) for k, v in row.items() if k != "seconds_per_step"} for row in csv.DictReader(handle)]


# one training step with every loss and batch norm in G and D, on a batch of 2 random pairs
STEP = Pix2PixConfig(netG="unet_128", ngf=8, ndf=8, no_dropout=True, lambda_CE=30.0,
                     label_colors=((0, 0, 0), (255, 0, 0), (0, 0, 255)), ce_class_weights=(1.0, 3.0, 10.0))


def step_batch():
    generator = torch.Generator().manual_seed(5)
    A = torch.rand(2, 1, 256, 128, generator=generator) * 2 - 1
    return A, torch.rand(2, 3, 256, 128, generator=generator) * 2 - 1


def one_step(world=None) -> Pix2PixModel:
    """One optimiser step on the batch (this process's share of it under torchrun); the model keeps its gradients."""
    torch.manual_seed(0)
    model = Pix2PixModel(STEP, world=world)
    A, B = step_batch()
    share = slice(None) if world is None else slice(world.rank, world.rank + 1)
    model.set_input(A[share], B[share])
    model.optimize_parameters()
    return model


def _worker(rank: int, ports: list[int], dataroot: str, out: str) -> None:
    """One of two processes, as torchrun starts them (the same environment): one step, three trainings, and
    job03 resuming the stopped one. Each process keeps its own weights at each epoch's end."""
    os.environ.update(MASTER_ADDR="127.0.0.1", RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
    torch.set_num_threads(1)  # torchrun's OMP_NUM_THREADS=1
    os.environ["MASTER_PORT"] = str(ports[0])
    _save_one_step(rank, out)
    _keep_weights_at_each_epoch_end(rank)

    def sigterm_to_rank_1(step):  # a real signal, which only rank 1's StopRequest sees
        if rank == 1 and step == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return False

    results = {}
    for name, port, extra, stop in (("whole", ports[1], DROPOUT, None), ("equal", ports[2], ONE_EPOCH, None),
                                    ("stopped", ports[3], DROPOUT, sigterm_to_rank_1)):
        os.environ["MASTER_PORT"] = str(port)
        result = train(options(dataroot, os.path.join(out, name), *extra), stop_after_step=stop)
        results[name] = (result.finished, result.epoch, result.iteration, result.main_process)
    if rank == 0:  # as it was stopped, for the test of a resume by one process
        shutil.copytree(os.path.join(out, "stopped"), os.path.join(out, "stopped_copy"))
    os.environ["MASTER_PORT"] = str(ports[4])
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        status = job03_train.main(["--dataroot", dataroot, "--checkpoints_dir", os.path.join(out, "stopped"),
                                   *TINY, *DROPOUT, "--continue_train"])
    results["resumed"] = (status, stdout.getvalue())
    torch.save(results, os.path.join(out, f"results_rank{rank}.pth"))


def _save_one_step(rank: int, out: str) -> None:
    world = distributed.start("cpu")
    model = one_step(world)
    torch.save({"losses": distributed.mean_values(model.get_current_losses(), world),
                "grads": {f"{net}.{name}": p.grad for net in ("G", "D")
                          for name, p in getattr(model, f"net{net}").named_parameters()}},
               os.path.join(out, f"step_rank{rank}.pth"))
    distributed.stop(world)


def _keep_weights_at_each_epoch_end(rank: int) -> None:
    end_epoch = train_module._end_epoch

    def keep_weights(run, epoch):
        end_epoch(run, epoch)
        torch.save({"G": run.model.netG.state_dict(), "D": run.model.netD.state_dict(),
                    "average": run.model.output_generator.state_dict()},
                   os.path.join(run.opt.checkpoints_dir, f"rank{rank}_epoch{epoch}.pth"))

    train_module._end_epoch = keep_weights


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(str(root), n_train=4, n_val=1, n_test=0, seed=11, workers=1, progress=False)
    return str(root / "input_img")


@pytest.fixture(scope="module")
def runs(dataroot, tmp_path_factory):
    """Two processes: one step; a run of 2 epochs with dropout, a run of 1 epoch without, and a run of 2 epochs
    with dropout stopped by a SIGTERM to rank 1, then resumed by job03."""
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=([free_port() for _ in range(5)], dataroot, str(out)), nprocs=2)
    return out, [torch.load(out / f"results_rank{rank}.pth") for rank in range(2)]


def test_each_process_takes_its_slice_of_every_global_batch():
    order = [5, 1, 4, 0, 2, 3, 6]
    assert local_batches(order, 2, World()) == [[5, 1], [4, 0], [2, 3], [6]]          # one process: as pix2pix
    assert local_batches(order, 1, World(0, 2)) == [[5], [4], [2]]                   # the 7th pair fills no
    assert local_batches(order, 1, World(1, 2)) == [[1], [0], [3]]                   # global batch of 2


def test_two_processes_train_one_model_with_the_same_weights_on_every_rank(runs):
    out, results = runs
    assert results[0]["whole"] == (True, 2, 0, True) and results[1]["whole"] == (True, 2, 0, False)
    rank0, rank1 = (weights(out / "whole" / f"rank{rank}_epoch2.pth") for rank in range(2))
    for net in ("G", "D", "average"):
        assert all(torch.equal(rank0[net][k], rank1[net][k]) for k in rank0[net])
    saved = weights(out / "whole" / "species_net_G.pth")                             # rank 0 wrote it
    selected = train_module.best_epoch(str(out / "whole" / "species"), "val")        # the demo preset's choice
    kept = weights(out / "whole" / f"rank0_epoch{selected}.pth")["average"]          # its weights' average
    assert all(torch.equal(saved[k], kept[k]) for k in kept)
    assert set(saved) - set(kept) == {"decoding.offsets", "decoding.min_region"}      # fitted on val by rank 0
    first = weights(out / "whole" / "rank0_epoch1.pth")["G"]
    assert any(not torch.equal(first[k], rank0["G"][k]) for k in first)              # it did train
    with open(out / "whole" / "species" / "metrics.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2"]      # validation once per epoch
    assert [(row["epoch"], row["iteration"]) for row in loss_rows(out / "whole")] == [
        (1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (2.0, 2.0)]                             # one log, 2 steps per epoch


def test_a_step_on_two_processes_has_the_gradients_of_the_global_batch(runs):
    out, _ = runs
    one = one_step()
    losses = one.get_current_losses()
    grads = {f"{net}.{name}": p.grad for net in ("G", "D") for name, p in getattr(one, f"net{net}").named_parameters()}
    for rank in range(2):
        two = torch.load(out / f"step_rank{rank}.pth")
        assert two["losses"] == pytest.approx(losses, rel=1e-5)        # with batch norm over the global batch
        assert two["grads"].keys() == grads.keys()
        worst = {name: float((two["grads"][name] - grad).abs().max() / grad.abs().max()) for name, grad in grads.items()}
        assert max(worst.values()) < 1e-3                              # averaged over the processes


def test_two_processes_equal_one_process_with_the_same_global_batch(runs, dataroot, tmp_path):
    out, _ = runs
    assert train(options(dataroot, tmp_path, *ONE_EPOCH, "--batch_size", "2")).finished
    two_rows, one_rows = loss_rows(out / "equal"), loss_rows(tmp_path)
    assert len(two_rows) == len(one_rows) == 2                          # 4 pairs, global batch 2
    assert two_rows == [pytest.approx(row, rel=1e-5) for row in one_rows]   # every loss; step 2's after an update
    two, one = weights(out / "equal" / "species_net_G.pth"), weights(tmp_path / "species_net_G.pth")
    difference = torch.cat([(one[k] - two[k]).abs().flatten() for k in one if one[k].is_floating_point()])
    # Adam moves each weight by about lr (1e-3) a step whatever its gradient's size, so where a gradient is ~0
    # rounding may flip its sign; on average the weights agree to 1 % of one step
    assert difference.mean() < 1e-5


def test_a_sigterm_to_one_process_stops_both_after_the_same_step_and_the_resume_is_exact(runs, dataroot):
    out, results = runs
    stopped = [results[rank]["stopped"] for rank in range(2)]
    assert stopped[0][:3] == stopped[1][:3] and not stopped[0][0] and stopped[0][1:3] in ((1, 2), (2, 1))
    state = weights(out / "stopped_copy" / "species" / "latest_state.pth")["progress"]
    assert (state["epoch"], state["iteration"]) == stopped[0][1:3]
    assert state["world_size"] == 2 and len(state["rng_ranks"]) == 2                 # every process's RNG states
    with pytest.raises(UserError, match="saved by a run of 2 process"):                # not resumed by one
        train(options(dataroot, out / "stopped_copy", *DROPOUT, "--continue_train"))
    (status0, stdout0), (status1, stdout1) = (results[rank]["resumed"] for rank in range(2))
    assert status0 == status1 == 0
    assert "resuming" in stdout0 and "job03: trained species for 2 epochs" in stdout0 and stdout1 == ""  # rank 0 reports
    a, b = weights(out / "whole" / "species_net_G.pth"), weights(out / "stopped" / "species_net_G.pth")
    assert all(torch.equal(a[k], b[k]) for k in a)
