#!/usr/bin/env python3
"""Check: does a community generator keep real calls in their own track, in clean and in noisy sound?

The models learn on synthetic soundscapes; this asks how they treat real sound. Each real clip of
``--real_audio`` (the robin call as bird, the read-speech clips as human; cut to --duration - 2 s) is
placed 1 s into --duration seconds of pink noise (seeded), at each --snr (dB, the clip's power over its
own span against the noise's there) and alone ("clean", no noise). job04's recording mode, as a user runs
it (``--wav DIR --outputs audio``), separates every file into one track per community; then, per clip:

  kept      100 <track, clip> / <clip, clip> for the clip's own community's track: the share of the real
            call that its track passes (100 = all of it, 0 = none)
  elsewhere the same for the other communities' tracks together: the call put into a wrong track
  SI-SDR    of the own track against the clip (dB; empty for a silent track)
  noise     100 ||track||^2 / ||mixture||^2 over the first second, noise only: the noise the own track passes

Not a test, and not a detector: a measure of whether real calls survive on their track. Several
--weights (NAME=PATH) run side by side on the same files. Prints one table; --out writes it as CSV.

  .venv/bin/python bench/real_sound_check.py --weights demo=out_gan_mdl/community_net_G.pth
  .venv/bin/python bench/real_sound_check.py --weights a=run_a/community_net_G.pth b=run_b/community_net_G.pth
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from util.metrics import si_sdr  # noqa: E402
from util.signal.audio import read_audio  # noqa: E402
from util.signal.spectrogram import SpecParams  # noqa: E402
from util.synth.noises import colored_noise  # noqa: E402

CLIPS = {"456440__inspectorj__bird-whistling-robin-single-13.ogg": "bird", "198-209-0000.ogg": "human",
         "3436-172162-0000.ogg": "human", "5703-47212-0000.ogg": "human"}
COMMUNITIES = ("bird", "insect", "human")
LEAD_S = 1.0                 # noise alone before the clip: where the noise passed is measured
PINK_DB_PER_OCTAVE = -3.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", nargs="+", required=True, metavar="NAME=PATH",
                        help="community generators to compare, each NAME=PATH")
    parser.add_argument("--real_audio", default=os.path.join(ROOT, "..", "shared", "real_audio"),
                        help="folder holding the real clips named in CLIPS")
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, -5.0], help="SNRs in dB (besides clean)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per file")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--out", default=None, help="also write the table to this CSV")
    return parser.parse_args(argv)


def make_files(real_audio: str, folder: str, snrs: list[float], duration_s: float, seed: int,
               sr: int) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """Write the test files; returns stem -> (community, the clip as placed, the mixture)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    start = int(LEAD_S * sr)
    files = {}
    for name, community in CLIPS.items():
        path = os.path.join(real_audio, name)
        if not os.path.exists(path):
            print(f"{path}: not found; left out")
            continue
        clip = read_audio(path, sr)[0][: n - 2 * start].astype(np.float64)
        placed = np.zeros(n)
        placed[start:start + len(clip)] = clip
        noise = colored_noise(rng, sr, n, PINK_DB_PER_OCTAVE).astype(np.float64)
        clip_power = np.mean(clip ** 2)
        noise_power = np.mean(noise[start:start + len(clip)] ** 2)
        stem = os.path.splitext(name)[0][:24]
        for snr in [None, *snrs]:
            gain = 0.0 if snr is None else np.sqrt(clip_power / noise_power / 10 ** (snr / 10))
            raw = placed + gain * noise
            scale = 0.5 / max(np.max(np.abs(raw)), 1e-12)             # the file peaks at -6 dB full scale
            mixture = raw * scale
            key = f"{stem}_{'clean' if snr is None else f'snr{snr:+.0f}'}"
            sf.write(os.path.join(folder, f"{key}.wav"), mixture.astype(np.float32), sr, subtype="FLOAT")
            files[key] = (community, placed * scale, mixture)
    return files


def run_job04(weights: str, inputs: str, results: str) -> None:
    command = [sys.executable, os.path.join(ROOT, "job04_test.py"), "--level", "community", "--weights", weights,
               "--wav", inputs, "--results_dir", results, "--outputs", "audio", "--audio_format", "float"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def scores(results: str, key: str, community: str, clip: np.ndarray, mixture: np.ndarray, sr: int) -> dict:
    tracks = {c: read_audio(os.path.join(results, key, f"{c}.wav"), sr)[0].astype(np.float64)
              for c in COMMUNITIES}
    n = min(len(clip), *(len(t) for t in tracks.values()))
    clip, own = clip[:n], tracks[community][:n]
    energy = float(np.dot(clip, clip))
    lead = int(LEAD_S * sr)
    others = sum(tracks[c][:n] for c in COMMUNITIES if c != community)
    noise_in = float(np.dot(mixture[:lead], mixture[:lead]))
    return {"kept %": 100 * float(np.dot(own, clip)) / energy,
            "elsewhere %": 100 * float(np.dot(others, clip)) / energy,
            "SI-SDR dB": si_sdr(own, clip) if np.any(own) else float("nan"),
            "noise %": 100 * float(np.dot(own[:lead], own[:lead])) / noise_in if noise_in > 0 else float("nan")}


def main(argv=None) -> int:
    opt = parse_args(argv)
    sr = SpecParams().sr
    models = dict(item.split("=", 1) for item in opt.weights)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        inputs = os.path.join(work, "in")
        os.makedirs(inputs)
        files = make_files(opt.real_audio, inputs, opt.snr, opt.duration, opt.seed, sr)
        if not files:
            print(f"{opt.real_audio}: none of the clips found; nothing to check")
            return 1
        for name, path in models.items():
            results = os.path.join(work, name)
            run_job04(path, inputs, results)
            for key, (community, clip, mixture) in files.items():
                rows.append({"model": name, "file": key, "community": community,
                             **scores(results, key, community, clip, mixture, sr)})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(table.round(1).to_string(index=False))
        table["condition"] = table["file"].str.rsplit("_", n=1).str[-1]
        print(table.groupby(["model", "community", "condition"])[["kept %", "elsewhere %", "SI-SDR dB", "noise %"]]
              .mean().round(1).to_string())
    if opt.out:
        table.to_csv(opt.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
