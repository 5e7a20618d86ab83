"""Recordings over a Dask cluster (``dask.distributed``): job04 ``--workers N`` and ``--scheduler ADDRESS``.

Scale-out runs on an engine clusters already run, not a scheduler of our own: a ``LocalCluster`` of worker
processes on this machine, or any running Dask scheduler (``dask scheduler`` + ``dask worker``, or
dask-jobqueue's ``SLURMCluster`` / ``PBSCluster`` on an HPC queue).

A recording is the unit of work. The client sends each one, with one picklable :class:`ClusterJob` (the
weights and their checksum, palette, spectrogram and recording settings: what a serial run uses), to the
cluster. A worker loads the generator once (kept per worker, keyed by the weights' sha256 and how it runs)
and runs :func:`util.recording.pipeline.process_recording`, which skips a recording finished earlier with
the same settings (its run.json). The client collects the results as they finish (one progress bar over
the folder) and writes the combined tables and the run's figures once, in file order, with the code of a
serial run (:func:`util.recording.pipeline.write_run_tables`), so they are the same files byte for byte.

Failures: a user's mistake (an unreadable recording, one below the model's rate) fails at once; any other
error is retried (``retries``), and Dask reruns elsewhere the recordings of a worker that died. A recording
that still fails is listed, one line naming it and the reason, and in ``<results_dir>/failed_recordings.txt``
(``path<TAB>reason``; removed by a run without failures). Never silently missing.

Workers must see the recordings, the weights and ``results_dir`` at the same paths as the client (a shared
filesystem, as on HPC clusters; paths are made absolute), and import this repository with its requirements.

dask is imported only when a cluster is asked for, so the rest of util works without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from tqdm import tqdm

from util.cli import InputFile
from util.errors import UserError
from util.files import write_text
from util.gan.networks import load_generator
from util.labels.palette import Palette
from util.recording.layout import FAILED_LIST, recording_out_dir
from util.recording.pipeline import (
    RecordingResult,
    RecordingsResult,
    check_distinct_out_dirs,
    process_recording,
    write_run_tables,
)
from util.recording.record import ModelInfo, file_sha256, model_info
from util.recording.settings import RecordingSettings
from util.recording.translator import DEFAULT_BATCH_SIZE, PRECISIONS, TileTranslator
from util.signal.audio import DEFAULT_BLOCK_S
from util.signal.spectrogram import SpecParams

DEFAULT_RETRIES = 2               # further tries of a recording after an unexpected error
CONNECT_TIMEOUT_S = 20.0          # how long --scheduler waits for the scheduler to answer
SCHEDULER_PORT = 8786             # Dask's, when an address gives none


@dataclass(frozen=True)
class ClusterJob:
    """Everything a worker needs to process a recording as a serial run would (picklable, sent with each one)."""

    weights: str                        # absolute path of the generator weights, as every worker sees it
    model: ModelInfo                    # their checksum and label, computed once by the client
    palette: Palette
    params: SpecParams                  # the spectrogram the model was trained on (its train_opt.json)
    settings: RecordingSettings         # products, classes, thresholds, channel, overlap, time zone
    results_dir: str                    # absolute
    device: str = "cpu"
    batch_size: int = DEFAULT_BATCH_SIZE
    compile: bool = False
    precision: str = PRECISIONS[0]
    overwrite: bool = False
    block_s: float = DEFAULT_BLOCK_S
    torch_threads: int | None = None    # per recording; None: its machine's cores / the Dask threads there
    threads_per_host: tuple[tuple[str, int], ...] = ()   # (host, Dask threads of all its workers) at submission

    @property
    def generator_key(self) -> tuple:
        """What makes two loaded generators interchangeable: the weights and how they run."""
        return self.model.sha256, self.device, self.batch_size, self.compile, self.precision


@dataclass
class ClusterResult(RecordingsResult):
    """:class:`RecordingsResult` of a cluster run, with the failed-recordings list (None when none failed)."""

    failed_list: str | None = None
    n_workers: int = 0


# --------------------------------------------------------------------------- the client

def process_recordings_on_cluster(inputs: Sequence[str | InputFile], weights: str, palette: Palette,
                                  results_dir: str, params: SpecParams = SpecParams(), *, client,
                                  model: ModelInfo | None = None, device: str = "cpu",
                                  batch_size: int = DEFAULT_BATCH_SIZE, compile: bool = False,
                                  precision: str = PRECISIONS[0], overwrite: bool = False,
                                  block_s: float = DEFAULT_BLOCK_S, torch_threads: int | None = None,
                                  retries: int = DEFAULT_RETRIES, progress: bool = True,
                                  settings: RecordingSettings | None = None, **setting_values) -> ClusterResult:
    """:func:`util.recording.pipeline.process_recordings` with the recordings sent to a Dask cluster.

    ``weights``: the generator file (loaded by each worker, once); ``client``: a ``distributed.Client``
    (:func:`connect`); ``torch_threads``: torch threads per recording (None: a machine's cores divided by
    the Dask threads of all the workers on it); ``retries``: further tries of a recording after an unexpected error. The other
    arguments are those of :func:`process_recordings`, and the outputs are the same files.

    Returns a :class:`ClusterResult`: ``done`` and ``failures`` in file order, ``tables`` (written by the
    client once all recordings are back), ``failed_list``.
    """
    items = [_absolute(item if isinstance(item, InputFile) else InputFile(item, "")) for item in inputs]
    settings = (settings or RecordingSettings(**setting_values)).check(palette, params.tile_frames)
    params.check()
    check_distinct_out_dirs(items, results_dir)
    job = ClusterJob(os.path.abspath(weights), model or model_info(None, weights), palette, params, settings,
                     os.path.abspath(results_dir), str(device), batch_size, compile, precision, overwrite, block_s,
                     torch_threads, threads_per_host(client.nthreads()))
    futures = {client.submit(run_recording, job, item, retries=retries, pure=False): index
               for index, item in enumerate(items)}
    outcomes = _collect(client, futures, items, retries, progress)
    result = ClusterResult([(item, value) for item, (ok, value) in zip(items, outcomes) if ok],
                           [(item, value) for item, (ok, value) in zip(items, outcomes) if not ok],
                           n_workers=len(client.nthreads()))
    result.tables = write_run_tables(results_dir, result.done, palette, settings)
    result.failed_list = write_failed_list(results_dir, result.failures)
    return result


def _collect(client, futures: dict, items: list[InputFile], retries: int, progress: bool) -> list[tuple[bool, object]]:
    """Each recording's (True, RecordingResult) or (False, one-line message), in file order, as they finish."""
    from distributed import as_completed

    outcomes: list = [None] * len(items)
    with tqdm(total=len(items), desc="recordings", unit="file", disable=None if progress else True) as bar:
        for future in as_completed(futures, loop=client.loop):
            index = futures[future]
            ok, value = outcomes[index] = _outcome(future, items[index], retries)
            if not ok:
                tqdm.write(f"error: {value}", file=sys.stderr)
            elif value.redo_reason and progress:
                tqdm.write(f"{value.path}: {value.redo_reason}; redoing it")
            bar.update(1)
    return outcomes


def _outcome(future, item: InputFile, retries: int) -> tuple[bool, object]:
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        return False, f"{item.path}: cancelled on the cluster (the scheduler went away?)"
    exc = future.exception()
    return False, (f"{item.path}: failed on the cluster after {retries + 1} tries: "
                   f"{type(exc).__name__}: {_one_line(exc)}")


def write_failed_list(results_dir: str, failures: list[tuple[InputFile, str]]) -> str | None:
    """``failed_recordings.txt``: one failed recording a line, ``absolute path<TAB>reason``; an earlier list is
    removed when nothing failed. Returns the path, or None."""
    path = os.path.join(results_dir, FAILED_LIST)
    if not failures:
        if os.path.exists(path):
            os.remove(path)
        return None
    lines = [f"{os.path.abspath(item.path)}\t{_one_line(message.removeprefix(item.path + ': '))}\n"
             for item, message in failures]
    return write_text(path, "".join(lines))


def _absolute(item: InputFile) -> InputFile:
    return InputFile(os.path.abspath(item.path), item.rel_dir)


def _one_line(value) -> str:
    return " ".join(str(value).split())[:300]


# --------------------------------------------------------------------------- connecting

@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None, processes: bool = True,
            timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator:
    """A ``distributed.Client``: to the running scheduler at ``scheduler`` (``tcp://host:8786``), or to a
    ``LocalCluster`` of ``workers`` worker processes (one thread each) started here and closed on exit.
    A scheduler that does not answer within ``timeout_s`` is a UserError naming its address."""
    distributed = _import_distributed()
    if scheduler:
        with _client_at(distributed, scheduler, timeout_s) as client:
            yield client
        return
    if workers is None or workers < 1:
        raise UserError(f"--workers {workers}: give 1 or more worker processes")
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def local_torch_threads(workers: int) -> int:
    """torch threads for each of ``workers`` worker processes on this machine: its cores shared out."""
    return max(1, usable_cores() // max(1, workers))


def threads_per_host(nthreads: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """{worker address: its Dask threads} (``client.nthreads()``) -> ((host, threads of all its workers), ...):
    how many recordings a machine runs at once, whose cores they share."""
    totals: dict[str, int] = {}
    for address, threads in nthreads.items():
        totals[address_host(address)] = totals.get(address_host(address), 0) + threads
    return tuple(sorted(totals.items()))


def address_host(address: str) -> str:
    """'tcp://10.0.0.5:40347' -> '10.0.0.5' (also inproc://host/pid/n and [IPv6]:port)."""
    location = address.split("://", 1)[-1]
    if location.startswith("["):
        return location[:location.index("]") + 1]
    return location.split("/", 1)[0].rsplit(":", 1)[0]


def usable_cores() -> int:
    """Cores this process may run on (a Slurm/PBS allocation, a container's share), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _client_at(distributed, address: str, timeout_s: float):
    """A client of the scheduler at ``address``; the address is checked (and, for tcp/tls, its port knocked
    on) first, so a wrong one is one line, not a client left to time out."""
    try:
        _check_scheduler_address(address, timeout_s)
        return distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except Exception as exc:  # refused, unreachable, timed out, not an address: all mean "no scheduler there"
        raise UserError(f"--scheduler {address}: no Dask scheduler answered there ({type(exc).__name__}: "
                        f"{_one_line(exc)[:160]}); start one (`dask scheduler`, or dask-jobqueue) and give "
                        f"the address it prints, e.g. tcp://10.0.0.5:8786") from None


def _check_scheduler_address(address: str, timeout_s: float) -> None:
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    scheme, location = parse_address(address)
    if scheme not in backends:
        raise ValueError(f"unknown scheme {scheme!r}, known: {', '.join(sorted(backends))}")
    if scheme in ("tcp", "tls"):
        with socket.create_connection(parse_host_port(location, SCHEDULER_PORT), timeout=timeout_s):
            pass


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise UserError("--workers and --scheduler need dask.distributed: pip install 'dask[distributed]' "
                        "(it is in requirements.txt)") from None
    return distributed


# --------------------------------------------------------------------------- on a worker

_TRANSLATORS: dict[str, tuple[tuple, TileTranslator]] = {}     # worker address -> (generator key, translator)
_LOAD_LOCK = threading.Lock()


def run_recording(job: ClusterJob, item: InputFile) -> tuple[bool, RecordingResult | str]:
    """On a worker: one recording, as a serial run processes it -> (True, its result), or (False, the one-line
    message of a user's mistake, which a retry would not mend). Anything else is raised, for Dask to retry."""
    try:
        translator = worker_translator(job)
        result = process_recording(item.path, translator, job.palette, recording_out_dir(job.results_dir, item),
                                   job.params, batch_size=job.batch_size, block_s=job.block_s, progress=False,
                                   overwrite=job.overwrite, model=job.model, settings=job.settings)
    except UserError as exc:
        message = str(exc)
        return False, message if item.path in message else f"{item.path}: {message}"
    return True, result


def worker_translator(job: ClusterJob) -> TileTranslator:
    """This worker's generator for ``job``, loaded on its first recording and kept for the next ones (one
    per worker: a job with other weights or settings replaces it). Sets torch's threads for the recording."""
    from distributed import get_worker

    worker = get_worker()
    # torch's thread count belongs to the calling thread (OpenMP), and Dask's workers start with
    # OMP_NUM_THREADS=1: set it in the thread that runs the recording, every time (it costs nothing)
    torch.set_num_threads(job.torch_threads or _share_of_cores(job, worker))
    with _LOAD_LOCK:
        key, translator = _TRANSLATORS.get(worker.address, (None, None))
        if key != job.generator_key:
            translator = _load_translator(job, worker.address)
            _TRANSLATORS[worker.address] = (job.generator_key, translator)
    return translator


def _share_of_cores(job: ClusterJob, worker) -> int:
    """This machine's cores / the recordings it runs at once (all its workers' Dask threads). More torch threads
    than cores cost much: 2 workers of 2 torch threads each on 2 cores took 4 times as long per recording."""
    on_host = dict(job.threads_per_host).get(address_host(worker.address), worker.state.nthreads)
    return max(1, usable_cores() // max(1, on_host))


def _load_translator(job: ClusterJob, where: str) -> TileTranslator:
    """The generator as job04 prepares it for a serial run, after checking this worker sees the client's weights."""
    if not os.path.isfile(job.weights):
        raise UserError(f"{job.weights}: not found on worker {where}; workers must see the weights, recordings "
                        f"and results folder at the same paths as the client (a shared filesystem)")
    sha256 = file_sha256(job.weights)
    if sha256 != job.model.sha256:
        raise UserError(f"{job.weights}: on worker {where} it is another file (sha256 {sha256[:12]}, the "
                        f"client's {job.model.sha256[:12]}); workers must see the client's weights")
    generator, _ = load_generator(job.weights, job.device)
    return TileTranslator(generator.eval(), job.device, compile=job.compile, batch_size=job.batch_size,
                          precision=job.precision)


def clear_worker_cache() -> None:
    """Forget the generators loaded in this process (tests; a long-lived worker keeps one per worker anyway)."""
    with _LOAD_LOCK:
        _TRANSLATORS.clear()

