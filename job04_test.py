#!/usr/bin/env python3
"""job04: run a trained generator on test pairs (scores and images) or on whole recordings.

Test pairs (default): every pair in <dataroot>/test_<level>_samples ->
  <results_dir>/<name>/test_<epoch>/images/<stem>_{real_A,fake_B,real_B}.png (test_<epoch>_bfloat16 with
  --precision bfloat16),
  per_image.csv and summary.csv (pixel F1 per class and mean, each with its 95 % interval from a
  bootstrap over clips (pixel_f1_lo / pixel_f1_hi, f1_<class>_lo / _hi), SSIM, LPIPS, MSE), printed too.
Whole recordings (--wav FILE|DIR): for each recording, <results_dir>/<stem>/ gets the products of
  --outputs (default tables,labels: a Raven selection table, detections.csv, Audacity labels,
  occupancy.csv, frequency_profile.csv and labels.png; on request one audio file per class and the
  residual, isolated spectrograms, <stem>.detections.png) and run.json (model checksum, palette,
  settings); <results_dir> gets the combined tables (a Raven table of the files as one sequence with
  its list file, combined detections and occupancy) and, with figures, diel_activity.png and
  occupancy.png with their CSVs. Recordings are tiled with the spectrogram settings the
  model was trained on (its train_opt.json); a recording made with the same settings is skipped.
  --workers N or --scheduler ADDRESS sends the recordings to Dask workers (each loads the generator
  once); the tables are written here, the same files as a one-process run; recordings that failed
  are listed, and in <results_dir>/failed_recordings.txt.

The generator is the run's <epoch>_net_G.pth (--epoch auto: best_net_G.pth when job03 kept the epoch scored
best on val, else latest_net_G.pth; architecture read from the weights, level, palette and
spectrogram settings from its train_opt.json) or any pix2pix generator given with --weights (settings
from <stem>.train_opt.json beside it, else --sr --n_fft --hop_length). Batch norm uses its running
statistics and dropout is off, so runs are repeatable. Generated colours are read as the weights say when
job03 fitted their decoding on val (--decode_rule fitted, the default); --decode_rule nearest ignores the fit.

examples:
  python job04_test.py --level species
  python job04_test.py --weights out_gan_mdl/community_net_G.pth --level community --wav recordings/
  python job04_test.py --level species --wav site_a/ --outputs tables,labels,audio --classes "Lesser Cuckoo"
  python job04_test.py --level community --wav site_a/ --workers 4
  python job04_test.py --level community --wav /shared/site_a/ --scheduler tcp://10.0.0.5:8786
"""

import os

from util.cli import run_main
from util.gan.networks import load_generator
from util.gan.options import finish_test_options, split_dir, test_parser
from util.recording.cli import add_recording_args


def test_pairs(opt, generator, config) -> None:
    from util.gan.dataset import AlignedPairDataset
    from util.gan.scoring import generator_function, score_pairs, write_scores
    from util.gan.tile_settings import SETTINGS_KEY, check_tiles_match
    from util.labels.palette import load_palette
    from util.metrics import LpipsScorer

    arithmetic = "" if opt.precision == "float32" else f"_{opt.precision}"   # float32's folder as before
    out_dir = os.path.join(opt.results_dir, opt.name, f"test_{opt.epoch_label}{arithmetic}")
    dataset = AlignedPairDataset(split_dir(opt, "test"), config["input_nc"])
    settings = (opt.train_options or {}).get(SETTINGS_KEY)
    if settings:
        check_tiles_match(settings, dataset.paths, opt.train_options_path)
    lpips = LpipsScorer(opt.lpips_weights)
    if not lpips.available:
        print(lpips.reason)
    palette = load_palette(opt.palette, opt.decode_rule).fitted(config.get("decoding"))
    scores = score_pairs(generator_function(generator, opt.device, opt.precision), dataset, palette, lpips,
                         batch_size=opt.batch_size, image_dir=os.path.join(out_dir, "images"))
    summary = write_scores(scores, out_dir)
    interval = f"95 % interval {summary['pixel_f1_lo']:.3f}-{summary['pixel_f1_hi']:.3f}, bootstrap over clips"
    print(f"job04: {summary['n_images']} test pairs of {summary['n_clips']} clips in {split_dir(opt, 'test')} "
          f"({opt.precision}): "
          f"pixel F1 {summary['pixel_f1']:.3f} ({interval}; "
          + ", ".join(f"{slug} {summary['f1_' + slug]:.3f}" for slug in palette.slugs) + "), "
          f"SSIM {summary['ssim']:.3f}, LPIPS {summary['lpips']:.3f}, MSE {summary['mse']:.4f}; written to {out_dir}")


def recordings(opt, generator, config) -> int:
    from util.cli import AUDIO_EXTENSIONS, find_files, report_failures
    from util.gan.precision import precision_hint
    from util.gan.tile_settings import SETTINGS_KEY, model_spec_params
    from util.labels.palette import load_palette
    from util.recording import model_info, process_recordings, settings_from_args

    params, note = model_spec_params((opt.train_options or {}).get(SETTINGS_KEY),
                                     opt.train_options_path or opt.weights,
                                     sr=opt.sr, n_fft=opt.n_fft, hop_length=opt.hop_length)
    print(f"job04: {note}")
    hint = precision_hint(opt.device, opt.precision)
    if hint and not opt.scheduler:    # a running cluster's workers may be other machines
        print(f"job04: {hint}")
    settings = settings_from_args(opt)
    files = find_files(opt.wav, AUDIO_EXTENSIONS)
    palette = load_palette(opt.palette, opt.decode_rule).fitted(config.get("decoding"))
    model = model_info(generator, opt.weights, opt.name, opt.train_options_path)
    if opt.workers is not None or opt.scheduler:
        result = recordings_on_cluster(opt, files, palette, params, settings, model)
    else:
        result = process_recordings(files, generator, palette, opt.results_dir, params, device=opt.device,
                                    batch_size=opt.batch_size, compile=opt.compile, precision=opt.precision,
                                    overwrite=opt.overwrite, settings=settings, model=model)
    done = [r for _, r in result.done]
    n_skipped, n_redone = sum(r.skipped for r in done), sum(bool(r.redo_reason) for r in done)
    tables = ", ".join(os.path.basename(p) for p in result.tables.values()) or "none"
    failed_list = f" (listed in {result.failed_list})" if getattr(result, "failed_list", None) else ""
    print(f"job04: {len(done) - n_skipped} recording(s) processed into {opt.results_dir}/<stem>/ "
          f"({n_redone} of them redone with new settings, {n_skipped} already done with these settings, "
          f"{len(result.failures)} failed{failed_list}), {sum(r.n_selections for r in done if not r.skipped)} "
          f"detections; outputs {','.join(settings.outputs)}; run tables and figures in {opt.results_dir}: {tables}")
    return report_failures(result)


def recordings_on_cluster(opt, files, palette, params, settings, model):
    """--workers N (a LocalCluster here) or --scheduler ADDRESS: the recordings over Dask, the tables here."""
    from util.recording.cluster import connect, local_torch_threads, process_recordings_on_cluster

    threads = opt.num_threads or (local_torch_threads(opt.workers) if opt.workers else None)
    with connect(opt.scheduler, opt.workers) as client:
        where = f"the Dask cluster at {opt.scheduler}" if opt.scheduler else f"{opt.workers} local Dask worker(s)"
        print(f"job04: {len(files)} recording(s) to {where} ({len(client.nthreads())} worker(s) now)")
        return process_recordings_on_cluster(files, opt.weights, palette, opt.results_dir, params, client=client,
                                             model=model, device=opt.device, batch_size=opt.batch_size,
                                             compile=opt.compile, precision=opt.precision, overwrite=opt.overwrite,
                                             torch_threads=threads, settings=settings)


def main(argv=None) -> int:
    parser = test_parser(__doc__)
    add_recording_args(parser)
    opt = finish_test_options(parser.parse_args(argv))
    generator, config = load_generator(opt.weights, opt.device)
    generator.eval()
    if opt.wav:
        return recordings(opt, generator, config)
    test_pairs(opt, generator, config)
    return 0


if __name__ == "__main__":
    run_main(main)
