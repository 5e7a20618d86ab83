#!/usr/bin/env python3
"""job03: train pix2pix on A|B pairs, species or community level, on CPU or CUDA.

Reads <dataroot>/train_<level>_samples (and test_<level>_samples for the scores logged after
every epoch), writes <checkpoints_dir>/<name>/: train_opt.json, loss_log.csv, metrics.csv
(epoch, ssim, lpips, pixel_f1, f1_<class>...), latest_net_G.pth / latest_net_D.pth, a resumable
latest_state.pth and per-epoch copies; at the end <checkpoints_dir>/<level>_net_G.pth.

Ctrl-C (or SIGTERM) finishes the current step, saves and prints how to resume (--continue_train).

examples:
  python job03_train.py --level species --preset demo
  python job03_train.py --level community --preset paper --gpu_ids 0 --amp
"""

from util.cli import run_main
from util.gan.options import finish_options, train_parser
from util.gan.train import train


def main(argv=None) -> int:
    opt = finish_options(train_parser(__doc__).parse_args(argv))
    result = train(opt)
    if not result.finished:
        return 130
    print(f"job03: trained {opt.name} for {result.epoch} epochs on {opt.device}; checkpoints and logs in "
          f"{result.run_dir}, generator in {result.final_weights}")
    return 0


if __name__ == "__main__":
    run_main(main)
