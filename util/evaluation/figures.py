"""The evaluation's figures (job06): one function per figure, each drawing one table into one PNG.

Every function takes the DataFrame that :mod:`util.evaluation` makes (or reads back from its xlsx) and a
path, draws with matplotlib's Agg backend (no display needed), labels the axes with their units and
writes the PNG atomically (temporary name, then rename). Missing values (NaN) are left out of a plot,
never drawn as zero.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from util.files import atomic_path  # noqa: E402

DPI = 120
METHOD_COLOURS = {"GAN": "#d62728", "spectral subtraction": "#1f77b4", "Wiener filtering": "#2ca02c",
                  "no denoise": "#7f7f7f", "spectral gating": "#9467bd", "NMF": "#1f77b4",
                  "ResNet50": "#1f77b4", "VGG16": "#2ca02c", "empty mask (reference)": "#cccccc",
                  "silence (reference)": "#cccccc", "GAN on": "#d62728", "GAN off": "#7f7f7f"}


def save_figure(fig, path: str) -> str:
    """Write ``fig`` as PNG to ``path`` atomically and close it; returns ``path``."""
    try:
        with atomic_path(path) as temp:
            fig.savefig(temp, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def short_label(label: str, width: int = 16) -> str:
    """'Lesser Cuckoo (Cuculus poliocephalus)' -> 'Lesser Cuckoo', wrapped to ``width`` characters."""
    common = str(label).split(" (")[0]
    return "\n".join(textwrap.wrap(common, width)) or common


def grouped_bars(ax, table: pd.DataFrame, label_column: str, methods: list[str], ylabel: str) -> None:
    """Bars of each method's value per row of ``table``, side by side."""
    labels = [short_label(v) for v in table[label_column]]
    x = np.arange(len(labels))
    width = 0.8 / max(len(methods), 1)
    colours = [METHOD_COLOURS.get(method, f"C{i}") for i, method in enumerate(methods)]
    for i, method in enumerate(methods):
        values = pd.to_numeric(table[method], errors="coerce").to_numpy(float)
        positions = x + (i - (len(methods) - 1) / 2) * width
        finite = np.isfinite(values)
        ax.bar(positions[finite], values[finite], width, color=colours[i])
        for position in positions[~finite]:   # x in data, y in axes fraction: visible whatever the sign
            ax.text(position, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90,
                    transform=ax.get_xaxis_transform())
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    # legend from patches: a method without any value still shows its own colour
    ax.legend(handles=[Patch(color=c, label=m) for m, c in zip(methods, colours)], fontsize=8)
    ax.grid(axis="y", alpha=0.3)


# --------------------------------------------------------------------------- one figure per table

def plot_ssim_lpips(table: pd.DataFrame, path: str) -> str:
    """SSIM and LPIPS of each level per training epoch (data01)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, better in ((axes[0], "ssim", "higher is better"), (axes[1], "lpips", "lower is better")):
        for level, style in (("species", "o-"), ("community", "s--")):
            values = pd.to_numeric(table[f"{level} {metric}"], errors="coerce")
            if values.notna().any():
                ax.plot(table["epoch"], values, style, label=level)
            else:
                ax.text(0.5, 0.5 if level == "species" else 0.4, f"{level}: no {metric.upper()} logged",
                        transform=ax.transAxes, ha="center", fontsize=8)
        ax.set_xlabel("training epoch")
        ax.set_ylabel(f"{metric.upper()} (generated vs true label image)")
        ax.set_title(f"{metric.upper()} on the test split ({better})")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    return save_figure(fig, path)


def plot_frequency_profiles(gan: pd.DataFrame, truth: pd.DataFrame, path: str) -> str:
    """Mean level per frequency of each GAN-isolated source against the truth (data02), one panel per class."""
    classes = [c for c in gan.columns if c != "frequency(Hz)"]
    n_cols = 4
    n_rows = -(-len(classes) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4 * n_cols, 2.8 * n_rows), squeeze=False, sharex=True)
    freq_khz = pd.to_numeric(gan["frequency(Hz)"]).to_numpy(float) / 1000.0
    for ax, name in zip(axes.ravel(), classes):
        ax.plot(freq_khz, pd.to_numeric(truth[name], errors="coerce"), color="black", lw=1.2, label="truth")
        ax.plot(freq_khz, pd.to_numeric(gan[name], errors="coerce"), color=METHOD_COLOURS["GAN"], lw=1.0,
                label="GAN")
        ax.set_title(short_label(name, 30), fontsize=9)
        ax.set_xlabel("frequency (kHz)")
        ax.set_ylabel("mean level (dB re FS)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(classes):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle("Frequency distribution of each isolated source: GAN vs truth (test split)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_occupancy(table: pd.DataFrame, path: str) -> str:
    """Time and acoustic-space occupancy per class, GAN vs truth (data03)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, what in zip(axes, ("time percentage", "acoustic space percentage")):
        frame = pd.DataFrame({"class": table["community/species"], "GAN": table[what], "truth": table[f"true {what}"]})
        grouped_bars(ax, frame, "class", ["GAN", "truth"], f"{what.replace(' percentage', '')} occupancy (%)")
        ax.set_title(f"{what.replace(' percentage', '').capitalize()} occupancy (test split)")
    return save_figure(fig, path)


def plot_denoising(table: pd.DataFrame, path: str) -> str:
    """Spectrogram MSE per species of each denoising method (data04); lower is better."""
    methods = [c for c in table.columns if c != "species"]
    fig, ax = plt.subplots(figsize=(12, 4.5))
    grouped_bars(ax, table, "species", methods, "MSE vs clean species spectrogram\n(dB image scaled to [0, 1])")
    ax.set_title("Denoising: lower is better")
    return save_figure(fig, path)


def plot_separation(table: pd.DataFrame, path: str) -> str:
    """Waveform MSE (with the silence reference, if given) and the SI-SDR improvement over the mixture per
    community, GAN vs NMF, with the true mask's as a reference when the table has it (data05)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    references = [c for c in table.columns if c == "silence (reference)"]
    grouped_bars(axes[0], table, "community", ["GAN", "NMF", *references], "waveform MSE ((full scale)²)")
    axes[0].set_title("Separation MSE (lower is better)")
    improvement = "SI-SDR improvement (dB)"
    methods = [m for m in ("GAN", "NMF", "true mask (reference)") if f"{m} {improvement}" in table.columns]
    gains = pd.DataFrame({"community": table["community"], **{m: table[f"{m} {improvement}"] for m in methods}})
    grouped_bars(axes[1], gains, "community", methods, improvement)
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].set_title("SI-SDR improvement over the mixture (higher is better)")
    return save_figure(fig, path)


def plot_classification(table: pd.DataFrame, path: str) -> str:
    """Per-species (and mean) F1 of tile-level presence for each classifier (data06)."""
    methods = [c for c in table.columns if c != "species"]
    fig, ax = plt.subplots(figsize=(12, 4.5))
    grouped_bars(ax, table, "species", methods, "F1 of species presence per tile")
    ax.set_ylim(0, 1.05)
    ax.set_title("Classification (test split)")
    return save_figure(fig, path)


def plot_pixel_f1(table: pd.DataFrame, path: str) -> str:
    """Pixel-wise F1 per class and the mean, species and community level (data07), with the 95 % interval as
    error bars and the noise-draw ceiling as a black tick, where the table has them."""
    levels = list(dict.fromkeys(table["level"]))
    fig, axes = plt.subplots(1, len(levels), figsize=(6 * len(levels), 4.5), squeeze=False,
                             gridspec_kw={"width_ratios": [max((table["level"] == lv).sum(), 1) for lv in levels]})
    for ax, level in zip(axes[0], levels):
        rows = table[table["level"] == level]
        values = pd.to_numeric(rows["pixel F1"], errors="coerce").to_numpy(float)
        colours = ["#444444" if c == "mean" else METHOD_COLOURS["GAN"] for c in rows["class"]]
        ax.bar(range(len(rows)), np.nan_to_num(values), color=colours)
        _interval_and_ceiling(ax, rows, values)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([short_label(c) for c in rows["class"]], rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("pixel-wise F1")
        ax.set_title(f"{level} level (test split)")
        ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def _interval_and_ceiling(ax, rows: pd.DataFrame, values: np.ndarray) -> None:
    """data07's 95 % interval (error bars) and noise-draw ceiling (ticks), when its columns are there."""
    low_column, high_column = "pixel F1 low (95 %)", "pixel F1 high (95 %)"
    if {low_column, high_column} <= set(rows.columns):
        low = pd.to_numeric(rows[low_column], errors="coerce").to_numpy(float)
        high = pd.to_numeric(rows[high_column], errors="coerce").to_numpy(float)
        shown = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
        x = np.arange(len(rows))[shown]
        ax.errorbar(x, values[shown], yerr=[values[shown] - low[shown], high[shown] - values[shown]],
                    fmt="none", ecolor="black", capsize=3, lw=1, label="95 % interval (clips)")
    ceiling_column = next((c for c in rows.columns if str(c).startswith("ceiling")), None)
    if ceiling_column is not None:
        ceiling = pd.to_numeric(rows[ceiling_column], errors="coerce").to_numpy(float)
        if np.isfinite(ceiling).any():
            ax.scatter(np.arange(len(rows)), ceiling, marker="_", s=300, color="black", zorder=3,
                       label="ceiling (another noise draw)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")


def plot_ablation(table: pd.DataFrame, path: str) -> str:
    """Pixel F1 (with its 95 % interval), SSIM and LPIPS per level, GAN term off and on (data08's 'data' sheet)."""
    terms = ["GAN off", "GAN on"]
    levels = list(dict.fromkeys(table["level"]))
    by_term = {term: table[table["GAN term"] == term].set_index("level").reindex(levels) for term in terms}
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, (metric, better) in zip(axes, (("pixel F1", "higher"), ("SSIM", "higher"), ("LPIPS", "lower"))):
        frame = pd.DataFrame({"level": levels, **{term: by_term[term][metric].to_numpy() for term in terms}})
        grouped_bars(ax, frame, "level", terms, f"{metric} (generated vs true label)")
        ax.set_title(f"{metric}, test split ({better} is better)")
        if metric != "pixel F1":           # one legend, where F1's axis (0..1) leaves room for it
            ax.get_legend().remove()
    width = 0.8 / len(terms)                   # grouped_bars' bar width and positions
    for i, term in enumerate(terms):
        rows = by_term[term]
        values, low, high = (pd.to_numeric(rows[c], errors="coerce").to_numpy(float)
                             for c in ("pixel F1", "pixel F1 low (95 %)", "pixel F1 high (95 %)"))
        shown = np.isfinite(values) & np.isfinite(low) & np.isfinite(high)
        x = (np.arange(len(levels)) + (i - (len(terms) - 1) / 2) * width)[shown]
        axes[0].errorbar(x, values[shown], yerr=[values[shown] - low[shown], high[shown] - values[shown]],
                         fmt="none", ecolor="black", capsize=3, lw=1)
    axes[0].set_ylim(0, 1.05)
    fig.suptitle("Does the adversarial loss help? The same generator, GAN term off and on (error bars: 95 % "
                 "interval over clips)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


# --------------------------------------------------------------------------- example panels

@dataclass
class ExamplePanel:
    """One test tile shown four ways: mixture | truth | GAN | the GAN-isolated source."""

    title: str
    mixture: np.ndarray          # uint8 grey (rows, frames)
    truth_rgb: np.ndarray        # uint8 (rows, frames, 3)
    gan_rgb: np.ndarray          # uint8 (rows, frames, 3), as generated
    isolated: np.ndarray         # uint8 grey: the mixture under the GAN mask of ``isolated_label``
    isolated_label: str
    start_s: float
    duration_s: float
    max_freq_hz: float


def plot_examples(panels: list[ExamplePanel], path: str, title: str = "") -> str:
    """A row per example tile: mixture | truth | GAN | isolated, time (s) across, frequency (kHz) up."""
    n = max(len(panels), 1)
    fig, axes = plt.subplots(n, 4, figsize=(15, 3.8 * n), squeeze=False)
    for row, panel in zip(axes, panels):
        extent = (panel.start_s, panel.start_s + panel.duration_s, 0.0, panel.max_freq_hz / 1000.0)
        images = ((panel.mixture, "mixture (spectrogram)", "gray"), (panel.truth_rgb, "truth (label)", None),
                  (panel.gan_rgb, "GAN output", None),
                  (panel.isolated, f"isolated: {short_label(panel.isolated_label, 40)}", "gray"))
        for column, (ax, (image, name, cmap)) in enumerate(zip(row, images)):
            ax.imshow(image, cmap=cmap, vmin=0, vmax=255, aspect="auto", extent=extent, interpolation="nearest")
            # the tile's description once per row, wrapped to its panel's width, so neighbours do not overlap
            ax.set_title("\n".join(textwrap.wrap(panel.title, 60) + [name]) if column == 0 else name, fontsize=8)
            ax.set_xlabel("time (s)")
            ax.set_ylabel("frequency (kHz)")
    if not panels:
        axes[0][0].text(0.5, 0.5, "no test tiles", ha="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
