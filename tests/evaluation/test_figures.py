"""Each evaluation figure is drawn from its table into a PNG, missing values included."""

import os

import numpy as np
import pandas as pd
import pytest

from util.evaluation import figures

SPECIES = ["Lesser Cuckoo (Cuculus poliocephalus)", "Oriental Scops Owl (Otus sunia)"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert os.path.getsize(path) > 2000
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    assert not [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".")]  # no temporary file left


TABLES = {
    "ssim_lpips": (figures.plot_ssim_lpips, pd.DataFrame(
        {"epoch": [1, 2, 3], "community ssim": [0.5, 0.6, 0.7], "community lpips": [np.nan] * 3,
         "species ssim": [0.4, 0.5, 0.65], "species lpips": [0.3, 0.2, 0.1]})),
    "occupancy": (figures.plot_occupancy, pd.DataFrame(
        {"community/species": [*SPECIES, "bird"], "time percentage": [10.0, np.nan, 20.0],
         "acoustic space percentage": [0.5, 0.1, 1.0], "true time percentage": [12.0, 3.0, 22.0],
         "true acoustic space percentage": [0.6, 0.1, 1.1]})),
    "denoising": (figures.plot_denoising, pd.DataFrame(
        {"species": SPECIES, "GAN": [0.001, np.nan], "spectral subtraction": [0.01, np.nan],
         "Wiener filtering": [0.012, np.nan], "no denoise": [0.05, np.nan], "spectral gating": [0.008, np.nan],
         "empty mask (reference)": [0.004, np.nan]})),
    "separation": (figures.plot_separation, pd.DataFrame(
        {"community": ["bird", "insect", "human"], "GAN": [1e-5, 2e-5, np.nan], "NMF": [3e-5, 1e-5, np.nan],
         "GAN SI-SDR (dB)": [8.0, -2.0, np.nan], "NMF SI-SDR (dB)": [1.0, 3.0, np.nan],
         "GAN SI-SDR improvement (dB)": [5.0, 1.0, np.nan], "NMF SI-SDR improvement (dB)": [-1.0, 2.0, np.nan],
         "true mask (reference) SI-SDR improvement (dB)": [12.0, 9.0, np.nan],
         "silence (reference)": [4e-5, 3e-5, np.nan]})),
    "classification": (figures.plot_classification, pd.DataFrame(
        {"species": [*SPECIES, "mean"], "GAN": [0.9, 0.8, 0.85], "ResNet50": [0.7, np.nan, 0.7],
         "VGG16": [np.nan] * 3})),
    "pixel_f1": (figures.plot_pixel_f1, pd.DataFrame(
        {"level": ["species"] * 3 + ["community"] * 2, "class": [*SPECIES, "mean", "bird", "mean"],
         "pixel F1": [0.9, 0.7, 0.8, 0.95, 0.95]})),
    "ablation": (figures.plot_ablation, pd.DataFrame(
        {"level": ["species", "species", "community"], "GAN term": ["GAN off", "GAN on", "GAN on"],
         "pixel F1": [0.5, 0.6, 0.7], "pixel F1 low (95 %)": [0.4, 0.5, np.nan],
         "pixel F1 high (95 %)": [0.6, 0.7, np.nan], "SSIM": [0.7, 0.8, 0.75], "LPIPS": [np.nan] * 3})),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_figure_is_a_nonempty_png(tmp_path, name):
    draw, table = TABLES[name]
    path = draw(table, str(tmp_path / "figures" / f"{name}.png"))
    assert_png(path)


def test_frequency_profiles_of_gan_and_truth_are_drawn_per_class(tmp_path):
    freq = np.arange(256) * 22050 / 512
    gan = pd.DataFrame({"frequency(Hz)": freq, SPECIES[0]: np.where(freq > 3000, -60.0, np.nan),
                        "bird": np.full(256, np.nan)})
    truth = gan.copy()
    truth[SPECIES[0]] = truth[SPECIES[0]] - 2
    assert_png(figures.plot_frequency_profiles(gan, truth, str(tmp_path / "profiles.png")))


def test_example_panels_show_four_images_per_tile(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (256, 256), dtype=np.uint8)
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[100:120, 50:90] = (255, 0, 255)
    panel = figures.ExamplePanel("syn00001: Lesser Cuckoo", grey, rgb, rgb, np.where(rgb[..., 0] > 0, grey, 0),
                                 SPECIES[0], 0.0, 2.97, 11025.0)
    assert_png(figures.plot_examples([panel, panel], str(tmp_path / "examples.png"), "species"))


def test_short_labels_keep_the_common_name():
    assert figures.short_label("Lesser Cuckoo (Cuculus poliocephalus)") == "Lesser Cuckoo"
    assert figures.short_label("Brownish-flanked Bush Warbler (Horornis fortipes)", 16).count("\n") >= 1
