"""Real sound in job00's soundscapes: clean calls of a class as its sources (labelled by the same rule),
field recordings as backgrounds, recorded in dataset.json, and one clear line for a folder that cannot be used."""

import csv
import glob
import os

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import job00_synth_data
from util.cli import run_main
from util.errors import UserError
from util.labels.pairs import read_pair
from util.signal.audio import read_audio
from util.signal.spectrogram import SpecParams, row_freq_hz
from util.synth import Conditions, generate_dataset, noise_draw_agreement, read_dataset_record
from util.synth.dataset import one_tile_n_samples
from util.synth.real import real_source_clips
from util.synth.soundscape import make_soundscape
from util.synth.sources import palettes

PARAMS = SpecParams()
N_TILE = one_tile_n_samples(PARAMS)
CLIP_SR = 44100
CHIRP_S, PAD_S = 0.5, 0.2
CHIRP_HZ = (2000.0, 5000.0)


def write_chirp(folder, name="chirp.flac"):
    """A clean 'call': a 0.5 s chirp 2 -> 5 kHz between 0.2 s of silence, stereo 16-bit FLAC at 44.1 kHz."""
    t = np.arange(int(CHIRP_S * CLIP_SR)) / CLIP_SR
    freq = CHIRP_HZ[0] + (CHIRP_HZ[1] - CHIRP_HZ[0]) * t / CHIRP_S
    chirp = 0.5 * np.sin(2 * np.pi * np.cumsum(freq) / CLIP_SR) * np.hanning(len(t)) ** 0.2
    pad = np.zeros(int(PAD_S * CLIP_SR))
    mono = np.concatenate([pad, chirp, pad])
    os.makedirs(folder, exist_ok=True)
    sf.write(os.path.join(folder, name), np.stack([mono, 0.5 * mono], axis=1), CLIP_SR, subtype="PCM_16")


def write_noise(folder, seconds=5.0, name="field.wav"):
    """A 'field recording': noise with a low-frequency tilt and a slow swell, float WAV at the set's rate."""
    rng = np.random.default_rng(0)
    n = int(seconds * PARAMS.sr)
    noise = np.cumsum(rng.standard_normal(n)) * 0.02 + rng.standard_normal(n)
    noise -= np.convolve(noise, np.ones(200) / 200, mode="same")
    noise *= 1.0 + 0.5 * np.sin(2 * np.pi * 0.3 * np.arange(n) / PARAMS.sr)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    sf.write(path, (0.1 * noise / noise.std()).astype(np.float32), PARAMS.sr, subtype="FLOAT")
    return path


def job00(root, *flags):
    job00_synth_data.main(["--out", str(root), "--n_val", "0", "--n_test", "0", "--workers", "1", *flags])


def events(clip_folder):
    with open(os.path.join(clip_folder, "events.csv"), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def circular_offset(excerpt, recording):
    """(offset, correlation): where ``excerpt`` best matches ``recording`` read round in a loop."""
    ring = np.concatenate([recording, recording[:len(excerpt)]]).astype(np.float64)
    scores = scipy.signal.correlate(ring, excerpt.astype(np.float64), mode="valid", method="fft")[:len(recording)]
    offset = int(np.argmax(scores))
    window = ring[offset:offset + len(excerpt)]
    return offset, scores[offset] / (np.linalg.norm(window) * np.linalg.norm(excerpt))


# --------------------------------------------------------------------------- real sources

def test_a_clean_clip_is_read_mono_at_the_set_rate_and_trimmed_to_its_call(tmp_path):
    write_chirp(str(tmp_path / "real" / "Eurasian Jay"))
    [clip] = real_source_clips(str(tmp_path / "real"), PARAMS.sr)["eurasian-jay"]
    assert clip.name == "Eurasian Jay/chirp.flac" and clip.audio.dtype == np.float32
    assert len(clip.audio) / PARAMS.sr == pytest.approx(CHIRP_S, abs=0.02)      # the 0.2 s pads are cut
    assert 0.3 < np.max(np.abs(clip.audio)) < 0.4                              # (1 + 0.5) / 2 * 0.5: channel mean


def test_a_real_clean_call_is_labelled_as_its_class_where_events_csv_places_it(tmp_path):
    write_chirp(str(tmp_path / "real" / "eurasian-jay"))
    root = tmp_path / "set"
    job00(root, "--n_train", "4", "--seed", "3", "--max_sources", "10", "--snr_range", "5", "15",
          "--real_sources", str(tmp_path / "real"))
    jay, species = palettes()["species"].index("eurasian-jay"), palettes()["species"]
    freqs, frame_s = row_freq_hz(PARAMS.n_rows, PARAMS.sr, PARAMS.n_fft), PARAMS.hop_length / PARAMS.sr
    seen = 0
    for clip_folder in sorted(glob.glob(str(root / "input_wav" / "train" / "*"))):
        rows = [row for row in events(clip_folder) if row["slug"] == "eurasian-jay"]
        _, label, _ = read_pair(str(root / "input_img" / "train_species_samples" / f"{os.path.basename(clip_folder)}.png"))
        labelled = species.decode(label) == jay
        if not rows:
            assert not labelled.any()
            continue
        [row] = rows
        seen += 1
        assert row["model"] == "real:eurasian-jay/chirp.flac"
        assert float(row["end_s"]) - float(row["start_s"]) <= CHIRP_S + 0.02
        times = np.flatnonzero(labelled.any(axis=0)) * frame_s
        assert labelled.sum() > 50
        assert float(row["start_s"]) - 2 * frame_s <= times.min() and times.max() <= float(row["end_s"]) + 2 * frame_s
        hz = freqs[np.flatnonzero(labelled.any(axis=1))]
        assert CHIRP_HZ[0] - 300 <= hz.min() and hz.max() <= CHIRP_HZ[1] + 300
    assert seen >= 1
    record = read_dataset_record(str(root))["real_sources"]
    assert record["clips_per_class"] == {"eurasian-jay": 1} and record["files"] == ["eurasian-jay/chirp.flac"]
    assert "eurasian-jay" not in record["modelled_classes"] and "lesser-cuckoo" in record["modelled_classes"]


def test_classes_without_clips_keep_their_modelled_calls(tmp_path):
    write_chirp(str(tmp_path / "real" / "eurasian-jay"))
    clips = [make_soundscape(np.random.default_rng(4), N_TILE, PARAMS.sr, sources=["lesser-cuckoo", "eurasian-jay"],
                             real_sources=real) for real in (None, str(tmp_path / "real"))]
    assert np.array_equal(clips[0].parts["lesser-cuckoo"], clips[1].parts["lesser-cuckoo"])
    assert [e.model for e in clips[1].events] == ["lesser_cuckoo", "real:eurasian-jay/chirp.flac"]
    assert [e.model for e in clips[0].events] == ["lesser_cuckoo", "eurasian_jay"]


def test_an_unknown_class_folder_is_one_line_naming_it_and_the_valid_names(tmp_path, capsys):
    write_chirp(str(tmp_path / "real" / "eurasian-jay"))
    write_chirp(str(tmp_path / "real" / "robin"))
    with pytest.raises(SystemExit) as stop:
        run_main(lambda: job00(tmp_path / "set", "--n_train", "1", "--real_sources", str(tmp_path / "real")))
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "robin" in err and "Eurasian Jay (eurasian-jay)" in err and "insect" in err and "--real_sources" in err


def _garbage(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "broken.wav"), "wb") as handle:
        handle.write(b"RIFF not really a wave file")


def _text_only(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "notes.txt"), "w", encoding="utf-8") as handle:
        handle.write("licence")


def _silent(folder):
    os.makedirs(folder, exist_ok=True)
    sf.write(os.path.join(folder, "quiet.wav"), np.zeros(4000, np.float32), PARAMS.sr)


@pytest.mark.parametrize("make, message", [
    (lambda real: os.makedirs(real), "empty"),
    (lambda real: _text_only(os.path.join(real, "human")), r"human: holds no audio files"),
    (lambda real: _garbage(os.path.join(real, "insect")), r"broken\.wav: not a readable audio file"),
    (lambda real: _silent(os.path.join(real, "insect")), r"quiet\.wav: the clip is silent"),
    (lambda real: write_chirp(real), r"chirp\.flac is not in a class folder"),
    (lambda real: None, "no such folder"),
])
def test_a_real_sources_folder_that_cannot_be_used_is_a_user_error_naming_it(tmp_path, make, message):
    real = str(tmp_path / "real")
    make(real)
    with pytest.raises(UserError, match=message):
        generate_dataset(str(tmp_path / "set"), 1, 0, 0, workers=1, progress=False,
                         conditions=Conditions(real_sources=real))


@pytest.mark.parametrize("make, message", [
    (lambda real: _text_only(real), "holds no audio files"),
    (lambda real: _garbage(real), r"broken\.wav: not a readable audio file"),
    (lambda real: write_noise(real, seconds=0.5), r"field\.wav: 0\.50 s long"),
])
def test_a_real_backgrounds_folder_that_cannot_be_used_is_a_user_error_naming_it(tmp_path, make, message):
    real = str(tmp_path / "real")
    make(real)
    with pytest.raises(UserError, match=message):
        generate_dataset(str(tmp_path / "set"), 1, 0, 0, workers=1, progress=False,
                         conditions=Conditions(real_backgrounds=real))


# --------------------------------------------------------------------------- real backgrounds

def test_a_real_background_is_the_scaled_excerpt_of_the_recording_and_draw_1_moves_only_it(tmp_path):
    recording = read_audio(write_noise(str(tmp_path / "bg")), PARAMS.sr)[0]
    clips = [make_soundscape(np.random.default_rng(8), N_TILE, PARAMS.sr, sources=["eurasian-jay", "insect"],
                             real_backgrounds=str(tmp_path / "bg"), noise_draw=draw) for draw in (0, 1)]
    offsets = []
    for clip in clips:
        background = clip.mixture - clip.parts["eurasian-jay"] - clip.parts["insect"]
        offset, correlation = circular_offset(background, recording)
        assert correlation > 0.99999                                    # the recording itself, only scaled
        rms_db = 20 * np.log10(np.sqrt(np.mean(clip.background.astype(np.float64) ** 2)))
        assert -55.0 - 0.01 <= rms_db <= -35.0 + 0.01                   # at the drawn background level
        offsets.append(offset)
    assert offsets[1] == (offsets[0] + N_TILE) % len(recording)          # draw 1: one clip length further on
    assert all(np.array_equal(clips[0].parts[s], clips[1].parts[s]) for s in clips[0].parts)
    assert [(e.start_s, e.end_s, e.model) for e in clips[0].events] == \
        [(e.start_s, e.end_s, e.model) for e in clips[1].events]


def test_noise_draw_1_of_a_real_background_set_differs_from_draw_0_in_the_background_only(tmp_path):
    write_noise(str(tmp_path / "bg"))
    roots = [tmp_path / f"draw{draw}" for draw in (0, 1)]
    for draw, root in enumerate(roots):
        job00(root, "--n_train", "2", "--seed", "2", "--real_backgrounds", str(tmp_path / "bg"),
              "--noise_draw", str(draw))
    names = sorted(os.path.relpath(p, roots[0]) for p in glob.glob(str(roots[0] / "input_wav" / "train" / "*" / "*.wav")))
    assert names == sorted(os.path.relpath(p, roots[1]) for p in glob.glob(str(roots[1] / "input_wav" / "train" / "*" / "*.wav")))
    for name in names:
        same = np.array_equal(read_audio(str(roots[0] / name), PARAMS.sr)[0], read_audio(str(roots[1] / name), PARAMS.sr)[0])
        assert same == (os.path.basename(name) not in ("background.wav", "mixture.wav")), name
    assert read_dataset_record(str(roots[1]))["real_backgrounds"]["files"] == ["field.wav"]
    counts = noise_draw_agreement(str(roots[0]), "train", progress=False)       # remade from dataset.json
    assert counts["community"].confusion.sum() == 2 * PARAMS.n_rows * PARAMS.tile_frames


# --------------------------------------------------------------------------- the record

def test_a_set_is_not_extended_without_its_real_folders_or_with_other_files(tmp_path):
    write_chirp(str(tmp_path / "real" / "human"))
    root, flags = tmp_path / "set", ["--seed", "1", "--real_sources", str(tmp_path / "real")]
    job00(root, "--n_train", "1", *flags)
    job00(root, "--n_train", "2", *flags)                                          # the same files: extended
    assert read_dataset_record(str(root))["n_train"] == 2
    with pytest.raises(UserError, match="real_sources"):
        job00(root, "--n_train", "3", "--seed", "1")
    write_chirp(str(tmp_path / "real" / "human"), name="second.flac")
    with pytest.raises(UserError, match="real_sources"):
        job00(root, "--n_train", "3", *flags)
    with pytest.raises(UserError, match="changed since the set was made"):
        noise_draw_agreement(str(root), "train", progress=False)
