#!/usr/bin/env python3
"""job03: train pix2pix on A|B pairs, species or community level, on CPU or CUDA.

Reads <dataroot>/train_<level>_samples to train on and <dataroot>/val_<level>_samples for the scores
logged after every epoch (--score_split: val, where settings and epochs are chosen; the test split is
only reported, by job04; make val with job00_synth_data.py --n_val N). Writes <checkpoints_dir>/<name>/:
train_opt.json, loss_log.csv, metrics.csv (epoch, split, n_pairs, ssim, lpips, pixel_f1 with its 95 %
interval over clips pixel_f1_lo / pixel_f1_hi, f1_<class>...), latest_net_G.pth / latest_net_D.pth, a
resumable latest_state.pth and per-epoch copies (with --select_epoch best also best_net_G.pth, the epoch scored
best so far); at the end <checkpoints_dir>/<level>_net_G.pth (the last epoch's generator, or the best
epoch's) and beside it <level>_net_G.train_opt.json (the run's options, with the spectrogram settings of its
training tiles, which job04 --weights reads, selected_epoch and the decoding fitted on val, --fit_decoding).

Ctrl-C (or SIGTERM) finishes the current step, saves and prints how to resume (--continue_train).

Several processes train one model when started by torchrun (PyTorch DDP's launcher; README, "job03 on
several GPUs or machines"): each takes --batch_size pairs of every step's global batch, gradients are
averaged, batch norm uses the global batch's statistics, rank 0 alone logs, scores and saves.

examples:
  python job03_train.py --level species --preset demo
  python job03_train.py --level community --preset paper --gpu_ids 0 --amp
  torchrun --standalone --nproc_per_node 4 job03_train.py --level species --preset paper --amp
"""

from util.cli import run_main
from util.gan.options import finish_options, save_weights_options, train_parser
from util.gan.train import train


def main(argv=None) -> int:
    opt = finish_options(train_parser(__doc__).parse_args(argv))
    result = train(opt)
    if not result.finished:
        return 130
    if not result.main_process:
        return 0  # under torchrun, rank 0 writes and reports
    # the settings travel with the weights
    save_weights_options(result.run_dir, result.final_weights, selected_epoch=result.selected_epoch,
                         decoding=result.decoding)
    chosen = "" if result.selected_epoch == result.epoch else f" (epoch {result.selected_epoch}, the best on {opt.score_split})"
    print(f"job03: trained {opt.name} for {result.epoch} epochs on {opt.device}; checkpoints and logs in "
          f"{result.run_dir}, generator in {result.final_weights}{chosen}")
    return 0


if __name__ == "__main__":
    run_main(main)
