#!/usr/bin/env python3
"""Benchmark: whole-recording inference (job04's recording mode) against a plain loop, at the paper's model size.

Both sides run the same generator (U-Net 256, ngf 64, 1 channel in, 3 out, batch norm, or with --norm tile the
norm job03's recipe trains; randomly initialised with one seed: speed does not depend on training) over the
same generated recording and write the same outputs: one WAV per class and the residual, labels.png, a Raven
selection table, occupancy.csv and frequency_profile.csv.

  ours    util.recording.process_recording: streamed, tiles batched, overlap cross-faded, generator in eval
          mode under inference_mode (options below)
  plain   the whole file read into memory; one tile at a time (no overlap), default memory layout, eager,
          torch.no_grad; palette.classify per tile; whole-file masks, util.signal.audio.istft and write_png

Prints seconds per hour of audio, the real-time factor (audio seconds per wall second, audio in to tables
out), the generator's share, and peak memory (ru_maxrss of a child process) for both, and the ratio. Ours is
also run on a file one sixth as long, to show that its memory does not grow with length. The plain loop is
timed on the first --baseline_minutes and scaled (it is linear in length; its memory is not, so its peak is
for that length only). Each measurement runs in its own process. Not a test: it never fails on a timing.

  .venv/bin/python bench/bench_infer.py                        # 60-minute file
  .venv/bin/python bench/bench_infer.py --minutes 10 --repeat 3
  .venv/bin/python bench/bench_infer.py --minutes 60 --gpu_ids 0 --batch_size 64   # both sides on GPU 0
  .venv/bin/python bench/bench_infer.py --sweep                # generator alone: batch, layout, precision, compile
  .venv/bin/python bench/bench_infer.py --seams                # error at tile seams for each tile overlap
  .venv/bin/python bench/bench_infer.py --trackers             # job04 with the new and the old region tracker

--trackers: job04's recording mode (its default outputs, tables and labels.png) on a real clip looped to
--minutes (default 10; --audio, default ../shared/real_audio/spinetail.wav), community palette, with
util.labels.detections.RegionTracker (new) and the tracker it replaced (bench/old_tracker.py, the baseline),
side by side in one run, in two cases:

  quiet   the paper's U-Net (random weights: the same work) whose picture is replaced by 'bird' where the
          input is loud and black elsewhere: few regions, as from a model that fits
  busy    the same U-Net, its own picture: a random generator paints mid-grey, which lies between the
          palette's colours, so the class map is salt and pepper (about 100 000 regions a minute here)

Prints x real time (audio seconds per wall second, audio in to tables out), the seconds in the tracker and
in the generator, the ratio new / old, and whether both wrote the same detections.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


from bench_spectrogram import make_recording  # noqa: E402

import util.recording.outputs as recording_outputs  # noqa: E402
from util.files import write_csv  # noqa: E402
from util.gan import networks  # noqa: E402
from util.gan.norms import NORMS  # noqa: E402
from util.gan.options import resolve_device  # noqa: E402
from util.labels.annotations import write_raven_table  # noqa: E402
from util.labels.detections import regions_from_class_map  # noqa: E402
from util.labels.palette import load_palette  # noqa: E402
from util.labels.quantify import FrequencyProfileAccumulator, OccupancyAccumulator  # noqa: E402
from util.recording import (  # noqa: E402
    DEFAULT_BATCH_SIZE,
    DEFAULT_MIN_AREA_PX,
    DEFAULT_MIN_DURATION_S,
    DEFAULT_TILE_OVERLAP,
    TileTranslator,
    process_recording,
)
from util.recording.layout import OCCUPANCY_COLUMNS  # noqa: E402
from util.signal.audio import istft, read_audio, stft, write_audio  # noqa: E402
from util.signal.spectrogram import SpecParams, pixels_to_db, spectrum_to_pixels, write_png  # noqa: E402

PARAMS = SpecParams()


def paper_generator(ngf: int = 64, norm: str = "batch") -> torch.nn.Module:
    """The U-Net 256 with random weights (seed 0); norm 'batch' as the paper, 'tile' as job03's recipe."""
    torch.manual_seed(0)
    return networks.define_G(1, 3, ngf, "unet_256", norm, use_dropout=True)


# --------------------------------------------------------------------------- the two pipelines (child processes)

class TimedTranslator(TileTranslator):
    """Counts the seconds spent in the generator (tensor in, RGB out), the first batch's apart (start-up: CUDA's
    set-up, cuDNN's choice of kernels, compilation)."""

    seconds = 0.0
    first_s = None

    def __call__(self, tiles):
        start = time.perf_counter()
        try:
            return super().__call__(tiles)
        finally:
            spent = time.perf_counter() - start
            self.seconds += spent
            self.first_s = spent if self.first_s is None else self.first_s


def child_ours(path: str, out: str, options: dict) -> dict:
    translator = TimedTranslator(paper_generator(options.pop("ngf"), options.pop("norm")), options.pop("device"),
                                 compile=options.pop("compile"), precision=options.pop("precision"),
                                 batch_size=options["batch_size"])
    start = time.perf_counter()
    result = process_recording(path, translator, load_palette(options.pop("palette")), out, PARAMS,
                               overwrite=True, progress=False, **options)
    return {"seconds": time.perf_counter() - start, "generator_s": translator.seconds, "tiles": result.n_tiles,
            "audio_s": result.duration_s, "selections": result.n_selections, "startup_s": translator.first_s or 0.0}


def child_plain(path: str, out: str, options: dict) -> dict:
    device = torch.device(options["device"])
    net = paper_generator(options["ngf"], options["norm"]).eval().to(device)
    palette = load_palette(options["palette"])
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    y, _ = read_audio(path, PARAMS.sr)
    spectrum = stft(y, PARAMS.n_fft, PARAMS.hop_length, PARAMS.window)
    pixels = spectrum_to_pixels(spectrum, PARAMS)
    n_frames, width = pixels.shape[1], PARAMS.tile_frames
    class_map = np.zeros(pixels.shape, np.uint8)
    generator_s, n_tiles = 0.0, 0
    for first in range(0, n_frames, width):
        tile = np.zeros((PARAMS.n_rows, width), np.uint8)
        valid = min(width, n_frames - first)
        tile[:, :valid] = pixels[:, first:first + valid]
        tick = time.perf_counter()
        with torch.no_grad():
            fake = net(torch.from_numpy(tile).float()[None, None].to(device) / 127.5 - 1).cpu()
        rgb = (fake[0].permute(1, 2, 0).numpy() + 1) * 127.5
        generator_s += time.perf_counter() - tick
        class_map[:, first:first + valid] = palette.classify(rgb)[:, :valid]
        n_tiles += 1
    bins = class_map[::-1]
    for k, slug in enumerate(palette.slugs + ["residual"], start=1):
        k = 0 if slug == "residual" else k
        masked = spectrum.copy()
        masked[: PARAMS.n_rows] *= bins == k
        if k:
            masked[PARAMS.n_rows:] = 0
        write_audio(os.path.join(out, f"{slug}.wav"), istft(masked, PARAMS.n_fft, PARAMS.hop_length,
                                                            PARAMS.window, length=len(y)), PARAMS.sr)
    write_png(os.path.join(out, "labels.png"), palette.encode(class_map))
    regions = sorted((r for k in range(1, len(palette) + 1) for r in regions_from_class_map(
        class_map, k, 0, PARAMS.hop_length, PARAMS.sr, PARAMS.n_fft, DEFAULT_MIN_DURATION_S, DEFAULT_MIN_AREA_PX)),
        key=lambda r: r["begin_s"])
    write_raven_table(os.path.join(out, "rec.selections.txt"), [
        {"Begin Time (s)": r["begin_s"], "End Time (s)": r["end_s"], "Low Freq (Hz)": r["low_hz"],
         "High Freq (Hz)": r["high_hz"], "Species": palette.names[r["class_index"] - 1], "Begin File": "rec.wav",
         "Score": r["score"]} for r in regions])
    occupancy = OccupancyAccumulator(len(palette))
    occupancy.update(class_map)
    write_csv(os.path.join(out, "occupancy.csv"), OCCUPANCY_COLUMNS, [
        dict(zip(OCCUPANCY_COLUMNS, row)) for row in zip(
            palette.names, [c.scientific_name for c in palette.classes], occupancy.time_occupancy(), occupancy.acoustic_space_occupancy(),
            occupancy.seconds_present(PARAMS.hop_length, PARAMS.sr),
            [occupancy.seconds_total(PARAMS.hop_length, PARAMS.sr)] * len(palette))])
    profile = FrequencyProfileAccumulator(PARAMS.n_rows, len(palette))
    profile.update(pixels_to_db(pixels, PARAMS.db_floor, PARAMS.db_ceil), class_map)
    rows = []
    for k, name in enumerate(palette.names, start=1):
        p = profile.profile(k, PARAMS.sr, PARAMS.n_fft)
        rows += [{"class": name, "freq_hz": f, "mean_db": m, "n_cells": int(c)}
                 for f, m, c in zip(p.freq_hz, p.mean_db, p.n_cells)]
    write_csv(os.path.join(out, "frequency_profile.csv"), ("class", "freq_hz", "mean_db", "n_cells"), rows)
    return {"seconds": time.perf_counter() - start, "generator_s": generator_s, "tiles": n_tiles,
            "audio_s": len(y) / PARAMS.sr, "selections": len(regions), "startup_s": 0.0}


def run_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- region trackers, quiet and busy

REAL_CLIP = os.path.join(os.path.dirname(ROOT), "shared", "real_audio", "spinetail.wav")
LOUD_GREY = 170         # quiet case: input pixels above this grey (about -33 dB) are painted 'bird'


class LoudCalls(torch.nn.Module):
    """The quiet case: runs the generator (the same work), then paints ``colour`` where the input is loud."""

    def __init__(self, net: torch.nn.Module, colour: np.ndarray, level: int = LOUD_GREY):
        super().__init__()
        self.net = net
        self.register_buffer("colour", torch.tensor(colour / 127.5 - 1, dtype=torch.float32).view(1, 3, 1, 1))
        self.level = level / 127.5 - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        picture = self.net(x)
        return torch.where(x[:, :1] > self.level, self.colour, torch.full_like(picture, -1.0))


def timed_tracker(tracker_class: type) -> type:
    """``tracker_class`` counting the seconds spent in push and finish (in ``.seconds`` of the class)."""

    class Timed(tracker_class):
        seconds = 0.0

        def push(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return super().push(*args, **kwargs)
            finally:
                Timed.seconds += time.perf_counter() - start

        def finish(self):
            start = time.perf_counter()
            try:
                return super().finish()
            finally:
                Timed.seconds += time.perf_counter() - start

    return Timed


def child_trackers(path: str, out: str, options: dict) -> dict:
    if options["tracker"] == "old":
        from old_tracker import RegionTracker
    else:
        RegionTracker = recording_outputs.RegionTracker
    recording_outputs.RegionTracker = tracker = timed_tracker(RegionTracker)
    palette = load_palette("community")
    net = paper_generator(options["ngf"], options["norm"])
    if options["case"] == "quiet":
        net = LoudCalls(net, palette.colors[1])
    translator = TimedTranslator(net, batch_size=options["batch_size"], precision=options["precision"])
    start = time.perf_counter()
    result = process_recording(path, translator, palette, out, PARAMS, overwrite=True, progress=False,
                               batch_size=options["batch_size"])
    with open(os.path.join(out, "detections.csv"), "rb") as table:
        digest = hashlib.sha256(table.read()).hexdigest()
    return {"seconds": time.perf_counter() - start, "generator_s": translator.seconds, "tracker_s": tracker.seconds,
            "audio_s": result.duration_s, "selections": result.n_selections, "detections_sha256": digest}


def loop_recording(source: str, path: str, minutes: float) -> None:
    """``source`` repeated end to end up to ``minutes``, at its own rate, 16-bit (job04 resamples it)."""
    clip, sr = sf.read(source, dtype="float32", always_2d=True)
    n_left = int(round(minutes * 60 * sr))
    with sf.SoundFile(path, "w", sr, clip.shape[1], "PCM_16") as handle:
        while n_left > 0:
            handle.write(clip[:n_left])
            n_left -= len(clip)


def trackers(args) -> None:
    minutes = args.minutes if args.minutes is not None else 10.0
    options = {"ngf": args.ngf, "norm": args.norm, "batch_size": args.batch_size, "precision": args.precision}
    runs = {}
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "loop.wav")
        loop_recording(args.audio, path, minutes)
        for case in ("quiet", "busy"):
            for tracker in ("new", "old"):
                spec = json.dumps(dict(options, case=case, tracker=tracker))
                runs[case, tracker] = run_child("trackers", path, os.path.join(work, f"{case}-{tracker}"), spec)
    print(f"job04 recording mode (tables, labels.png), {os.path.basename(args.audio)} looped to {minutes:g} min, "
          f"community palette, U-Net 256 ngf {args.ngf} {args.norm} norm (random weights), batch {args.batch_size}, "
          f"{args.precision}; "
          f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads; load average now "
          f"{os.getloadavg()[0]:.1f}")
    for case in ("quiet", "busy"):
        new, old = runs[case, "new"], runs[case, "old"]
        for name, run in (("new", new), ("old", old)):
            print(f"  {case:5s} {name} tracker: {run['seconds']:6.1f} s = {run['audio_s'] / run['seconds']:5.1f}x "
                  f"real time; tracker {run['tracker_s']:6.2f} s, generator {run['generator_s']:6.1f} s; "
                  f"{run['selections']} detections")
        print(f"  {case:5s} new / old: wall {new['seconds'] / old['seconds']:.3f} "
              f"({old['seconds'] / new['seconds']:.2f}x faster), tracker {new['tracker_s'] / old['tracker_s']:.4f} "
              f"({old['tracker_s'] / new['tracker_s']:.1f}x faster); same detections.csv: "
              f"{'yes' if new['detections_sha256'] == old['detections_sha256'] else 'NO'}")


# --------------------------------------------------------------------------- generator alone

def sweep(ngf: int, norm: str, rounds: int, with_compile: bool) -> None:
    """ms per tile of the generator alone, variants interleaved round by round so that load hits all alike."""
    net = paper_generator(ngf, norm).eval()
    variants = {}
    for batch in (1, 4, 8):
        for layout in ("contiguous", "channels_last"):
            for precision in ("float32", "bfloat16"):
                variants[f"batch {batch} {layout:13s} {precision}"] = _variant(net, batch, layout, precision, False)
    if with_compile:
        for batch in (1, 8):
            for precision in ("float32", "bfloat16"):
                variants[f"batch {batch} compiled+cl   {precision}"] = _variant(net, batch, "channels_last",
                                                                              precision, True)
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (run, batch) in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append((time.perf_counter() - start) / batch * 1e3)
            cpu[name].append((time.process_time() - start_cpu) / batch * 1e3)
    print(f"generator alone, U-Net 256 ngf {ngf}, {norm} norm, ms per tile over {rounds} rounds: wall best / median, "
          f"and CPU "
          f"time (all threads) median; {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in variants:
        print(f"  {name}  wall {min(wall[name]):7.1f} / {statistics.median(wall[name]):7.1f}   "
              f"CPU {statistics.median(cpu[name]):7.1f}")


def _variant(net, batch: int, layout: str, precision: str, compiled: bool):
    model = copy.deepcopy(net)
    x = torch.rand(batch, 1, 256, 256) * 2 - 1
    if layout == "channels_last":
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bfloat16" \
        else contextlib.nullcontext
    if compiled:
        model = torch.compile(model, dynamic=False, options={"freezing": True})

    def run():
        with torch.inference_mode(), autocast():
            model(x)

    start = time.perf_counter()
    run()  # warm-up (and compilation)
    if compiled:
        print(f"  (compiled batch {batch} {precision} in {time.perf_counter() - start:.0f} s)", flush=True)
    return run, batch


# --------------------------------------------------------------------------- seams

def seams(ngf: int, n_tiles: int = 20) -> None:
    """How far the stitched output is from the same frames seen with wide context, per tile overlap.

    The reference runs the (fully convolutional) U-Net on 768-frame windows and keeps the middle 256
    columns, so every frame has 256 frames of real context either side. Errors are mean |RGB difference|
    divided by the reference's standard deviation, over the frames between the first and last tile.
    """
    from util.recording.stream import iter_translated_blocks
    from util.signal.spectrogram import iter_spectrum_blocks

    net = paper_generator(ngf).eval()
    width = PARAMS.tile_frames
    n = width * n_tiles
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "rec.wav")
        make_recording(path, n * PARAMS.hop_length / PARAMS.sr / 60 + 0.1)
        spectrum = np.concatenate(list(iter_spectrum_blocks(path, PARAMS)), axis=1)[:, :n]
    padded = np.pad(spectrum_to_pixels(spectrum, PARAMS), ((0, 0), (width, width)))
    with torch.inference_mode():
        reference = np.concatenate([
            net(torch.from_numpy(np.ascontiguousarray(padded[:, k * width:(k + 3) * width])).float()[None, None]
                / 127.5 - 1)[0, :, :, width:2 * width].numpy() for k in range(n_tiles)], axis=2) * 127.5 + 127.5
    translator = TileTranslator(net)
    print(f"seams, U-Net 256 ngf {ngf} (random weights), {n_tiles} tiles' worth of frames: error relative to "
          f"wide context (mean, worst column) and generator work")
    for overlap in (0, 8, 16, 32, 64):
        rgb = np.concatenate([block.rgb for block in iter_translated_blocks(
            [spectrum], PARAMS, translator, tile_overlap=overlap)], axis=2)
        error = (np.abs(rgb - reference).mean(axis=(0, 1)) / reference.std())[width:n - width]
        print(f"  overlap {overlap:2d} frames: mean {error.mean():.4f}, worst column {error.max():.3f}; "
              f"{width / (width - overlap):.3f}x the tiles of no overlap")


# --------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None,
                        help="length of the test recording (default 60; with --trackers 10)")
    parser.add_argument("--baseline_minutes", type=float, default=10.0,
                        help="minutes the plain loop is timed on, scaled to --minutes (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; best and median are shown")
    parser.add_argument("--palette", default="species", help="species (8 classes) or community (3)")
    parser.add_argument("--ngf", type=int, default=64, help="generator width (the paper's: 64)")
    parser.add_argument("--norm", default="batch", choices=NORMS,
                        help="the generator's norm layers: batch (the paper's, default) or tile (job03's recipe)")
    parser.add_argument("--batch_size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--tile_overlap", type=int, default=DEFAULT_TILE_OVERLAP)
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator (ours)")
    parser.add_argument("--precision", default="float32", help="float32 or bfloat16 (ours; both sides of --trackers)")
    parser.add_argument("--gpu_ids", default="-1",
                        help="-1: CPU (default); 0: GPU 0 for both sides (start-up, the first batch, shown apart)")
    parser.add_argument("--sweep", action="store_true", help="time the generator alone in its variants and stop")
    parser.add_argument("--sweep_compile", action="store_true", help="with --sweep: compiled variants too (slow)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of --sweep")
    parser.add_argument("--seams", action="store_true",
                        help="measure how much each tile overlap reduces the error at tile seams, and stop")
    parser.add_argument("--trackers", action="store_true",
                        help="job04 with the new and the old region tracker, on a quiet and a busy class map, and stop")
    parser.add_argument("--audio", default=REAL_CLIP, help="with --trackers: the real clip looped (default %(default)s)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, out, spec = args.child
        options = json.loads(spec)
        child = {"ours": child_ours, "plain": child_plain, "trackers": child_trackers}[mode]
        figures = child(path, out, options)
        figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    if args.sweep:
        sweep(args.ngf, args.norm, args.rounds, args.sweep_compile)
        return
    if args.seams:
        seams(args.ngf)
        return
    if args.trackers:
        trackers(args)
        return
    args.minutes = args.minutes if args.minutes is not None else 60.0

    args.device = resolve_device(args.gpu_ids)
    ours_options = {"ngf": args.ngf, "norm": args.norm, "palette": args.palette, "batch_size": args.batch_size,
                    "tile_overlap": args.tile_overlap, "compile": args.compile, "precision": args.precision,
                    "outputs": "tables,labels,audio", "audio_format": "float",   # what the plain loop writes
                    "device": args.device}
    plain_options = {"ngf": args.ngf, "norm": args.norm, "palette": args.palette, "device": args.device}
    short_minutes = max(args.minutes / 6, 1)
    with tempfile.TemporaryDirectory() as work:
        long_path, short_path = os.path.join(work, "long.wav"), os.path.join(work, "short.wav")
        baseline_path = os.path.join(work, "baseline.wav")  # the long file's first minutes (same seed)
        make_recording(long_path, args.minutes)
        make_recording(short_path, short_minutes)
        make_recording(baseline_path, min(args.baseline_minutes, args.minutes))
        ours_runs, plain_runs = [], []
        for _ in range(args.repeat):  # alternate, so that other load hits both alike
            ours_runs.append(run_child("ours", long_path, os.path.join(work, "ours"), json.dumps(ours_options)))
            plain_runs.append(run_child("plain", baseline_path, os.path.join(work, "plain"), json.dumps(plain_options)))
        ours_short = run_child("ours", short_path, os.path.join(work, "short"), json.dumps(ours_options))
    report(args, ours_runs, plain_runs, ours_short, short_minutes)


def report(args, ours_runs: list[dict], plain_runs: list[dict], ours_short: dict, short_minutes: float) -> None:
    load = os.getloadavg()[0]
    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"test recording: {args.minutes:g} min at {PARAMS.sr} Hz, palette {args.palette}; U-Net 256 ngf {args.ngf}, "
          f"{args.norm} norm; "
          f"on {where}; {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads; load average now {load:.1f}")
    ours_desc = (f"batch {args.batch_size}, overlap {args.tile_overlap}, {args.precision}"
                 f"{', compiled' if args.compile else ''}")
    ours = _summarise("ours  (" + ours_desc + ")", ours_runs)
    plain = _summarise("plain (batch 1, no overlap, eager)", plain_runs)
    print(f"ours memory: peak {statistics.median(r['peak_mib'] for r in ours_runs):.0f} MiB for {args.minutes:g} min, "
          f"{ours_short['peak_mib']:.0f} MiB for {short_minutes:g} min; plain: "
          f"{statistics.median(r['peak_mib'] for r in plain_runs):.0f} MiB for "
          f"{min(args.baseline_minutes, args.minutes):g} min (grows with length)")
    print(f"ratio ours / plain time per hour: best {ours[0] / plain[0]:.3f} ({plain[0] / ours[0]:.2f}x faster), "
          f"median {ours[1] / plain[1]:.3f} ({plain[1] / ours[1]:.2f}x faster)")


def _summarise(name: str, runs: list[dict]) -> tuple[float, float]:
    per_hour = sorted(r["seconds"] / r["audio_s"] * 3600 for r in runs)
    best, median = per_hour[0], statistics.median(per_hour)
    run = min(runs, key=lambda r: r["seconds"] / r["audio_s"])
    gen_ms = run["generator_s"] / run["tiles"] * 1e3
    rest_ms = (run["seconds"] - run["generator_s"]) / run["tiles"] * 1e3
    print(f"{name}: {best:7.1f} s per hour of audio = {3600 / best:5.1f}x real time (median {3600 / median:5.1f}x "
          f"of {len(runs)}); per tile {gen_ms:.1f} ms generator + {rest_ms:.1f} ms the rest; "
          f"{run['tiles']} tiles, {run['selections']} selections")
    if run.get("startup_s"):
        steady = (run["seconds"] - run["startup_s"]) / run["audio_s"] * 3600
        print(f"{' ' * len(name)}  start-up (the first batch) {run['startup_s']:.2f} s; without it "
              f"{3600 / steady:5.1f}x real time")
    return best, median


if __name__ == "__main__":
    main()
