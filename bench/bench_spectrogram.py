#!/usr/bin/env python3
"""Benchmark: job01 (audio -> PNG tiles) against the common way of making spectrogram images.

Prints seconds per hour of audio, the real-time factor and peak memory of:
  ours      util.signal.spectrogram.convert_file, the code job01 runs (streamed, one file)
  common    librosa.load + librosa.stft + amplitude_to_db + matplotlib imshow/savefig per tile
and the ratio. Peak memory of ours is measured on two file lengths to show it is flat.
The common way is timed on the first --baseline_minutes and scaled to an hour (it is
linear in length). Each measurement runs in its own process. Not a test: never fails.

  python bench/bench_spectrogram.py                 # 1-hour file (about a minute in all)
  python bench/bench_spectrogram.py --minutes 10    # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from util.signal.spectrogram import SpecParams, convert_file  # noqa: E402

SR = SpecParams().sr


def make_recording(path: str, minutes: float, seed: int = 0) -> None:
    """A field-like test file: pink-ish noise with tonal calls, 16-bit, written a minute at a time."""
    rng = np.random.default_rng(seed)
    t = np.arange(SR * 60) / SR
    with sf.SoundFile(path, "w", SR, 1, "PCM_16") as handle:
        for _ in range(int(np.ceil(minutes))):
            noise = np.cumsum(rng.standard_normal(len(t))) * 1e-3
            noise -= np.convolve(noise, np.ones(2048) / 2048, mode="same")
            calls = sum(0.1 * np.sin(2 * np.pi * rng.uniform(1000, 8000) * t) * (np.abs(t - rng.uniform(0, 60)) < 0.5)
                        for _ in range(20))
            handle.write((0.02 * noise / (np.std(noise) + 1e-9) + calls).astype(np.float32)[: int(SR * 60 * min(1, minutes))])
            minutes -= 1


def child_ours(path: str, out: str) -> dict:
    start = time.perf_counter()
    n_tiles = len(convert_file(path, out, SpecParams(), overwrite=True))
    return {"seconds": time.perf_counter() - start, "tiles": n_tiles}


def child_common(path: str, out: str, minutes: float) -> dict:
    import librosa
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = SpecParams()
    plt.figure().savefig(os.path.join(out, "warm_up.png"))  # font cache and backend set-up are not timed
    plt.close("all")
    start = time.perf_counter()
    y, _ = librosa.load(path, sr=params.sr, duration=minutes * 60)
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=params.n_fft, hop_length=params.hop_length)),
                                 ref=1.0, top_db=None)
    n_tiles = 0
    for k in range(0, db.shape[1], params.tile_frames):
        fig = plt.figure(figsize=(2.56, 2.56), dpi=100)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.imshow(db[: params.n_rows, k:k + params.tile_frames], origin="lower", aspect="auto", cmap="gray",
                  vmin=-60, vmax=40)
        ax.axis("off")
        fig.savefig(os.path.join(out, f"common_{k // params.tile_frames:04d}.png"))
        plt.close(fig)
        n_tiles += 1
    return {"seconds": time.perf_counter() - start, "tiles": n_tiles}


def run_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the test recording (default 60)")
    parser.add_argument("--baseline_minutes", type=float, default=5.0, help="minutes the common way is timed on (default 5)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, out, *rest = args.child
        figures = child_ours(path, out) if mode == "ours" else child_common(path, out, float(rest[0]))
        figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return

    with tempfile.TemporaryDirectory() as work:
        long_path, short_path = os.path.join(work, "long.wav"), os.path.join(work, "short.wav")
        make_recording(long_path, args.minutes)
        make_recording(short_path, max(args.minutes / 6, 1))
        out = os.path.join(work, "tiles")
        os.makedirs(out)
        ours = run_child("ours", long_path, out)
        ours_short = run_child("ours", short_path, out)
        common = run_child("common", long_path, out, str(min(args.baseline_minutes, args.minutes)))

    hours = args.minutes / 60
    ours_per_hour = ours["seconds"] / hours
    common_per_hour = common["seconds"] / (min(args.baseline_minutes, args.minutes) / 60)
    print(f"test recording: {args.minutes:g} min at {SR} Hz, {ours['tiles']} tiles; {os.cpu_count()} CPU cores")
    print(f"ours   (job01):            {ours_per_hour:7.2f} s per hour of audio = {3600 / ours_per_hour:7.0f}x real time, "
          f"peak {ours['peak_mib']:.0f} MiB ({args.minutes:g} min) vs {ours_short['peak_mib']:.0f} MiB "
          f"({max(args.minutes / 6, 1):g} min)")
    print(f"common (librosa + matplotlib): {common_per_hour:7.2f} s per hour of audio = "
          f"{3600 / common_per_hour:7.0f}x real time, peak {common['peak_mib']:.0f} MiB "
          f"(timed on {min(args.baseline_minutes, args.minutes):g} min, scaled)")
    print(f"ratio ours / common time: {ours_per_hour / common_per_hour:.3f} ({common_per_hour / ours_per_hour:.1f}x faster)")


if __name__ == "__main__":
    main()
