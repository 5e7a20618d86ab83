"""Which training settings make a small generator learn: job03's own training, scored after every epoch.

Each run is ``job03_train.py --preset demo`` plus the flags you add (any job03 flag: --lambda_CE,
--ce_class_balance, --sample_balance, --ngf, --n_epochs, ...), trained by job03's own code
(:func:`util.gan.train.train`: the same sampler, class weights, losses and schedule). After it ends, one JSON
line per epoch is printed from the run's metrics.csv (pixel F1 mean with its 95 % interval over clips,
pixel_f1_lo / pixel_f1_hi, and per class, SSIM) with the wall time and steps at the end of that epoch, so
variants can be compared against steps and against time. The scores are on job03's --score_split, the val
split by default (the metrics.csv records it): variants are chosen on val, never on test; two variants whose
intervals overlap are not told apart by this data.

    .venv/bin/python job00_synth_data.py --out /tmp/d0 --n_train 160 --n_val 40 --n_test 40 --seed 0
    .venv/bin/python bench/sweep_demo.py --dataroot /tmp/d0/input_img --level species --tag demo
    .venv/bin/python bench/sweep_demo.py --dataroot /tmp/d0/input_img --level species --tag pix2pix \\
        --lambda_CE 0 --ce_class_balance 0 --sample_balance 0        # pix2pix as published

Runs go to --checkpoints_dir (a temporary folder by default), one --name per --tag. Add ``--gpu_ids 0`` for a
GPU. A benchmark, not a test: it never fails on a score.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from util.files import METRICS_LOG, read_csv_rows, split_folder  # noqa: E402
from util.gan.dataset import list_pairs  # noqa: E402
from util.gan.options import finish_options, train_parser  # noqa: E402
from util.gan.train import train  # noqa: E402


def epoch_lines(metrics_path: str, step_times: list[float], steps_per_epoch: int, tag: str, level: str):
    """One dict per epoch of a finished run: its scores, and the steps and seconds it had taken by then."""
    for row in read_csv_rows(metrics_path):
        epoch = int(row["epoch"])
        steps = min(epoch * steps_per_epoch, len(step_times))
        yield {"tag": tag, "level": level, "epoch": epoch, "split": row.get("split", "test"), "step": steps,
               "sec": round(step_times[steps - 1], 1) if steps else 0.0,
               **{k: round(float(v), 3) for k, v in row.items() if k == "ssim" or k.startswith(("pixel_f1", "f1_"))
                  and v not in ("", None)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default="variant", help="name of this variant: the run's --name, printed in every line")
    args, job03_flags = parser.parse_known_args()
    job03_args = ["--preset", "demo", "--name", args.tag] + job03_flags
    if "--checkpoints_dir" not in job03_flags:
        job03_args += ["--checkpoints_dir", tempfile.mkdtemp(prefix="sweep_")]
    opt = finish_options(train_parser("sweep").parse_args(job03_args))
    started, step_times = time.perf_counter(), []

    def clock(step: int) -> bool:        # called by job03's loop after every step; never stops it
        step_times.append(time.perf_counter() - started)
        return False

    result = train(opt, stop_after_step=clock)
    n_pairs = len(list_pairs(split_folder(opt.dataroot, "train", opt.level)))
    steps_per_epoch = -(-n_pairs // opt.batch_size)
    for line in epoch_lines(os.path.join(result.run_dir, METRICS_LOG), step_times, steps_per_epoch,
                            args.tag, opt.level):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
