"""job04 over a Dask cluster (util.recording.cluster): the same files as a serial run, failures listed, not lost.

A LocalCluster of two workers in this process (threads, so it starts in a second) stands in for a cluster;
tests/jobs/test_job04_recordings.py runs job04 --workers 2 with worker processes. The generator is a small
random U-Net (ngf 4) saved as weights, as job04 loads them: its colours are varied, so a detection's
times, frequencies and score would show any difference between the two runs.
"""

import argparse
import filecmp
import os
import socket

import numpy as np
import pytest
import torch
from PIL import Image
from test_recording import call

from util.cli import find_files
from util.errors import UserError
from util.gan import networks
from util.gan.networks import load_generator
from util.labels.palette import load_palette
from util.recording import add_recording_args, cluster, model_info, process_recordings
from util.recording.cluster import (
    connect,
    local_torch_threads,
    process_recordings_on_cluster,
    threads_per_host,
    usable_cores,
)
from util.recording.layout import FAILED_LIST, RUN_RECORD

BROKEN = "SITE_20240501_070000.wav"


@pytest.fixture(scope="module")
def client():
    with connect(workers=2, processes=False) as dask_client:
        yield dask_client


@pytest.fixture(autouse=True)
def fresh_workers():
    """The workers live through the module: each test starts with no generator loaded."""
    cluster.clear_worker_cache()


@pytest.fixture
def site(write_wav, tmp_path):
    """Three 3-s recordings and, between them in file order, one that is not audio; and the weights."""
    for stem, (start_s, seed) in {"SITE_20240501_053000": (0.5, 0), "SITE_20240501_060000": (1.0, 1),
                                  "SITE_20240501_080000": (1.5, 2)}.items():
        write_wav(f"site/{stem}.wav", call(start_s, start_s + 1.0, total_s=3.0, seed=seed))
    (tmp_path / "site" / BROKEN).write_bytes(b"not audio at all")
    torch.manual_seed(0)
    torch.save(networks.define_G(1, 3, 4, "unet_256", "batch").state_dict(), tmp_path / "g.pth")
    return tmp_path


def on_cluster(site, dask_client, results="cluster", **options):
    return process_recordings_on_cluster(find_files(str(site / "site"), (".wav",)), str(site / "g.pth"),
                                         load_palette("community"), str(site / results), client=dask_client,
                                         progress=False, **options)


def serial(site, results="serial"):
    generator, _ = load_generator(str(site / "g.pth"))
    return process_recordings(find_files(str(site / "site"), (".wav",)), generator.eval(), load_palette("community"),
                              str(site / results), model=model_info(generator, str(site / "g.pth")), progress=False)


def files_below(folder):
    return sorted(os.path.relpath(os.path.join(d, n), folder) for d, _, names in os.walk(folder) for n in names
                  if n not in (RUN_RECORD, FAILED_LIST))


def test_two_workers_write_the_files_of_a_serial_run_byte_for_byte(site, client):
    one = serial(site)
    two = on_cluster(site, client, torch_threads=1)            # one torch thread per worker, the serial run two
    assert two.n_workers == 2 and len(two.done) == 3
    assert [item.path for item, _ in two.done] == [os.path.abspath(item.path) for item, _ in one.done]  # file order
    names = files_below(site / "serial")
    assert "combined.selections.txt" in names and "SITE_20240501_060000/labels.png" in names
    assert files_below(site / "cluster") == names
    for name in names:
        assert filecmp.cmp(site / "serial" / name, site / "cluster" / name, shallow=False), name
    for stem in ("SITE_20240501_053000", "SITE_20240501_080000"):
        with Image.open(site / "serial" / stem / "labels.png") as a, Image.open(site / "cluster" / stem /
                                                                                "labels.png") as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))
    with open(site / "serial" / "combined_detections.csv") as handle:
        assert len(handle.readlines()) > 10                      # the comparison had detections to compare


def test_an_unreadable_recording_is_listed_with_its_reason_and_the_rest_processed(site, client, capsys):
    result = on_cluster(site, client)
    assert [os.path.basename(r.path) for _, r in result.done] == ["SITE_20240501_053000.wav",
                                                                  "SITE_20240501_060000.wav",
                                                                  "SITE_20240501_080000.wav"]
    [(item, message)] = result.failures
    assert os.path.basename(item.path) == BROKEN and "not a readable audio file" in message
    assert f"error: {item.path}: not a readable audio file" in capsys.readouterr().err
    with open(result.failed_list) as handle:
        assert handle.read().splitlines() == [f"{item.path}\t{message.removeprefix(item.path + ': ')}"]
    with open(result.tables["list"]) as handle:
        assert BROKEN not in handle.read()


def test_a_rerun_skips_finished_recordings_and_a_run_without_failures_removes_the_list(site, client):
    first = on_cluster(site, client)
    stamps = {p: os.path.getmtime(p) for _, r in first.done for p in r.outputs}
    again = on_cluster(site, client)
    assert all(r.skipped for _, r in again.done) and len(again.failures) == 1
    assert all(os.path.getmtime(p) == t for p, t in stamps.items())
    os.remove(site / "site" / BROKEN)
    assert on_cluster(site, client).failed_list is None and not os.path.exists(site / "cluster" / FAILED_LIST)


def test_each_worker_loads_the_generator_once_with_its_share_of_threads(site, client, monkeypatch):
    loads = []

    def counting_load(path, device):
        loads.append(path)
        return load_generator(path, device)

    monkeypatch.setattr(cluster, "load_generator", counting_load)
    result = on_cluster(site, client)
    assert len(result.done) == 3 and 1 <= len(loads) <= 2          # at most once per worker, for 3 recordings
    # torch's threads belong to the thread that runs the recordings (each worker's only one): the machine's
    # cores shared by the two workers on it
    threads = client.gather([client.submit(torch.get_num_threads, workers=[address], pure=False)
                             for address in client.nthreads()])
    assert threads == [max(1, usable_cores() // 2)] * 2 == [local_torch_threads(2)] * 2
    assert threads_per_host({"tcp://10.0.0.5:4001": 1, "tcp://10.0.0.5:4002": 1, "tcp://[::1]:8786": 8}) == (
        ("10.0.0.5", 2), ("[::1]", 8))


def test_an_unexpected_error_is_retried_and_one_that_persists_is_listed(site, client, monkeypatch):
    os.remove(site / "site" / BROKEN)
    tries = {}
    real = cluster.process_recording

    def flaky(path, *args, **kwargs):
        tries[path] = tries.get(path, 0) + 1
        if "060000" in path or ("053000" in path and tries[path] == 1):
            raise RuntimeError("worker ran out of memory")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(cluster, "process_recording", flaky)
    result = on_cluster(site, client, retries=1)
    assert len(result.done) == 2 and any("053000" in r.path for _, r in result.done)   # the second try worked
    [(item, message)] = result.failures
    assert "060000" in item.path and "after 2 tries: RuntimeError: worker ran out of memory" in message
    assert max(tries.values()) == 2


def test_a_scheduler_that_does_not_answer_is_one_line_naming_its_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]                               # closed once the block ends
    with pytest.raises(UserError, match=rf"--scheduler tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        with connect(f"tcp://127.0.0.1:{port}", timeout_s=2):
            pass
    with pytest.raises(UserError, match="--scheduler nonsense://x: .*unknown scheme"):
        with connect("nonsense://x"):
            pass
    with pytest.raises(UserError, match="--workers 0"):
        with connect(workers=0):
            pass


def test_workers_and_scheduler_are_one_or_the_other_and_default_to_a_serial_run():
    parser = argparse.ArgumentParser()
    add_recording_args(parser)
    assert (parser.parse_args([]).workers, parser.parse_args([]).scheduler) == (None, None)
    assert parser.parse_args(["--workers", "2"]).workers == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "2", "--scheduler", "tcp://10.0.0.5:8786"])
