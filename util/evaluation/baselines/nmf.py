"""Supervised NMF source separation with soft masks (:class:`NMFSeparator`)."""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from util.errors import UserError
from util.evaluation.baselines.checks import EPS, SPEC, check_positive, checked_audio
from util.signal.audio import istft, stft

BETA_LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


class NMFSeparator:
    """Supervised NMF source separation with soft masks (Smaragdis 2007; Virtanen 2007 style).

    ``fit`` learns ``n_components_per_source`` basis spectra W_s per source from the
    magnitude STFT of that source's training audio (scikit-learn's NMF, multiplicative
    updates, ``beta_loss``). ``separate`` keeps the stacked bases W = [W_1 ... W_S] fixed and
    fits only the activations H to the mixture magnitude V ~ W H (multiplicative updates,
    ``n_iter_separate`` iterations), then masks the mixture:
        M_s = (W_s H_s)**mask_power / sum_r (W_r H_r)**mask_power
    (``mask_power=2``: Wiener-like power ratio; 1: magnitude ratio). The masks sum to 1, and
    audio is rebuilt with the mixture's phase (ISTFT).

    Pass noise-only audio as ``fit(..., background=[...])`` to learn a background source
    (``n_background_components`` bases, named ``background_name``): without it the noise
    has to be shared out among the sources.

    With W fixed, each frame's activations are independent of the others, so mixtures are
    processed ``block_frames`` frames at a time with identical results and bounded memory.

    Example::

        sep = NMFSeparator(n_components_per_source=8).fit({"owl": owl_clips, "cuckoo": cuckoo_clips},
                                                            background=noise_clips)
        parts = sep.separate(mixture)          # {"owl": audio, "cuckoo": audio, "background": audio}
    """

    def __init__(self, n_components_per_source: int = 8, *, beta_loss: str | float = "kullback-leibler",
                 n_iter: int = 300, n_iter_separate: int = 100, mask_power: float = 2.0,
                 n_background_components: int | None = None, background_name: str = "background",
                 random_state: int | None = 0, block_frames: int = 4096, n_fft: int = SPEC.n_fft,
                 hop_length: int = SPEC.hop_length, window: str = SPEC.window):
        """Settings (all keyword arguments but the first):

        n_components_per_source: basis spectra per source.
        beta_loss: 'kullback-leibler' (default; suits magnitude spectra), 'frobenius',
            'itakura-saito', or a beta in scikit-learn's sense; used in fitting and separating.
        n_iter: iterations when learning bases (scikit-learn's ``max_iter``, tol 1e-4).
        n_iter_separate: multiplicative updates of the activations on a mixture.
        mask_power: exponent p of the soft masks (2 = Wiener-like, 1 = ratio mask).
        n_background_components: bases of the background source (default: as a source).
        background_name: key of the background source in the outputs.
        random_state: seed of the basis initialisation (NNDSVD with small random fill-in).
        block_frames: frames of mixture processed at a time.
        n_fft, hop_length (samples), window: the STFT, as :func:`util.signal.audio.stft`.
        """
        if isinstance(beta_loss, str) and beta_loss not in BETA_LOSSES:
            raise UserError(f"beta_loss {beta_loss!r}: choose one of {', '.join(BETA_LOSSES)} or a number")
        for name, value in (("n_components_per_source", n_components_per_source), ("n_iter", n_iter),
                            ("n_iter_separate", n_iter_separate), ("block_frames", block_frames)):
            if int(value) != value or value < 1:
                raise UserError(f"{name} {value}: must be a positive integer")
        check_positive("mask_power", mask_power)
        self.n_components_per_source = int(n_components_per_source)
        self.beta_loss = beta_loss
        self.n_iter = int(n_iter)
        self.n_iter_separate = int(n_iter_separate)
        self.mask_power = float(mask_power)
        self.n_background_components = n_background_components
        self.background_name = background_name
        self.random_state = random_state
        self.block_frames = int(block_frames)
        self.n_fft, self.hop_length, self.window = n_fft, hop_length, window
        self.bases_: dict[str, np.ndarray] = {}  # source name -> W_s (bins, components), columns sum to 1

    @property
    def beta(self) -> float:
        return BETA_LOSSES[self.beta_loss] if isinstance(self.beta_loss, str) else float(self.beta_loss)

    @property
    def source_names(self) -> list[str]:
        return list(self.bases_)

    # ---- learning

    def fit(self, sources: Mapping[str, Sequence[np.ndarray]],
            background: Sequence[np.ndarray] | None = None) -> "NMFSeparator":
        """Learn basis spectra per source from training audio; returns self.

        ``sources``: {name: [mono audio arrays at the working rate]}, each list holding only
        that source. ``background``: optional noise-only audio, learned as one more source.
        """
        if not sources:
            raise UserError("NMF needs training audio for at least one source")
        if background is not None and self.background_name in sources:
            raise UserError(f"source name {self.background_name!r} is taken by the background; "
                            f"rename the source or pass background_name=")
        bases = {name: self._learn_bases(name, clips, self.n_components_per_source)
                 for name, clips in sources.items()}
        if background is not None:
            n_background = self.n_background_components or self.n_components_per_source
            bases[self.background_name] = self._learn_bases(self.background_name, background, n_background)
        self.bases_ = bases
        return self

    def _learn_bases(self, name: str, clips: Sequence[np.ndarray], n_components: int) -> np.ndarray:
        from sklearn.decomposition import (
            NMF,  # imported here: only NMF needs scikit-learn
        )
        from sklearn.exceptions import ConvergenceWarning

        if isinstance(clips, np.ndarray) and clips.ndim == 1:
            clips = [clips]  # one clip given bare
        if len(clips) == 0:
            raise UserError(f"NMF source {name!r}: no training audio")
        magnitude = np.concatenate([self._magnitude(checked_audio(c, f"training audio of {name!r}"))
                                    for c in clips], axis=1)
        if magnitude.shape[1] < n_components:
            raise UserError(f"NMF source {name!r}: its training audio gives {magnitude.shape[1]} STFT frames, "
                            f"fewer than the {n_components} components asked for; give more audio or fewer components")
        if not np.any(magnitude > 0):
            raise UserError(f"NMF source {name!r}: the training audio is silent")
        model = NMF(n_components=n_components, init="nndsvdar", solver="mu", beta_loss=self.beta_loss,
                    max_iter=self.n_iter, tol=1e-4, random_state=self.random_state)
        with warnings.catch_warnings():  # stopping at n_iter is the documented behaviour, not a fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(magnitude.T)  # scikit-learn factorises (samples=frames, features=bins)
        bases = model.components_.T.astype(np.float64)
        return bases / np.maximum(bases.sum(axis=0, keepdims=True), EPS)

    def _magnitude(self, y: np.ndarray) -> np.ndarray:
        return np.abs(stft(y, self.n_fft, self.hop_length, self.window)).astype(np.float64)

    # ---- separating

    def masks(self, spectrum: np.ndarray) -> dict[str, np.ndarray]:
        """Soft masks in [0, 1] per source, shape of ``spectrum`` (bins, frames), summing to 1.

        ``spectrum`` may have n_fft//2 + 1 rows or n_fft//2 (a tile without the Nyquist row).
        A bin that no source's model explains at all is shared equally.
        """
        bases = self._bases_for(np.asarray(spectrum).shape[0])
        magnitude = np.abs(np.asarray(spectrum)).astype(np.float32)  # float32: about twice as fast
        stacked = np.concatenate(list(bases.values()), axis=1).astype(np.float32)
        masks = {name: np.empty(magnitude.shape, np.float32) for name in bases}
        for start in range(0, magnitude.shape[1], self.block_frames):
            block = slice(start, start + self.block_frames)
            activations = self._fit_activations(magnitude[:, block], stacked)
            for name, mask in self._block_masks(bases, activations).items():
                masks[name][:, block] = mask
        return masks

    def separate_stft(self, spectrum: np.ndarray) -> dict[str, np.ndarray]:
        """Masked mixture STFT per source: {name: mask * spectrum} (complex, same shape)."""
        spectrum = np.asarray(spectrum)
        return {name: (mask * spectrum).astype(spectrum.dtype, copy=False)
                for name, mask in self.masks(spectrum).items()}

    def separate(self, mixture: np.ndarray, sr: int | None = None) -> dict[str, np.ndarray]:
        """Separate mono audio: {source name: audio of the mixture's length}, mixture phase.

        ``sr`` (Hz) is accepted for a uniform ``f(y, sr)`` call and not used: the bases
        already fix the rate the training audio had.
        """
        mixture = checked_audio(mixture, "mixture")
        spectrum = stft(mixture, self.n_fft, self.hop_length, self.window)
        return {name: istft(part, self.n_fft, self.hop_length, self.window, length=len(mixture))
                for name, part in self.separate_stft(spectrum).items()}

    def _bases_for(self, n_rows: int) -> dict[str, np.ndarray]:
        if not self.bases_:
            raise UserError("NMFSeparator: call fit() with training audio before separating")
        n_bins = next(iter(self.bases_.values())).shape[0]
        if n_rows not in (n_bins, n_bins - 1):
            raise UserError(f"spectrum has {n_rows} rows; the bases were learned with {n_bins} bins "
                            f"(n_fft {self.n_fft})")
        return {name: w[:n_rows] for name, w in self.bases_.items()}

    def _fit_activations(self, magnitude: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """Multiplicative beta-divergence updates of H with W fixed (Fevotte & Idier 2011)."""
        beta = self.beta
        column_mass = np.maximum(bases.sum(axis=0), EPS)
        # start each frame's activations evenly, at the level that matches its total magnitude
        activations = np.tile(magnitude.sum(axis=0) / column_mass.sum(), (bases.shape[1], 1)) + np.float32(EPS)
        for _ in range(self.n_iter_separate):
            model = bases @ activations + EPS
            if beta == 1.0:  # Kullback-Leibler: denominator is each basis's mass
                numerator, denominator = bases.T @ (magnitude / model), column_mass[:, None]
            elif beta == 2.0:  # Euclidean
                numerator, denominator = bases.T @ magnitude, bases.T @ model
            else:
                numerator = bases.T @ (magnitude * model ** (beta - 2.0))
                denominator = bases.T @ model ** (beta - 1.0)
            activations *= numerator / (denominator + EPS)
        return activations

    def _block_masks(self, bases: dict[str, np.ndarray], activations: np.ndarray) -> dict[str, np.ndarray]:
        """M_s = (W_s H_s)**p / sum_r (W_r H_r)**p for one block of frames (float64: no underflow)."""
        powered, row = {}, 0
        for name, w in bases.items():
            powered[name] = (w @ activations[row:row + w.shape[1]].astype(np.float64)) ** self.mask_power
            row += w.shape[1]
        total = sum(powered.values())
        explained = total > 0
        safe_total = np.where(explained, total, 1.0)
        return {name: np.where(explained, part / safe_total, 1.0 / len(powered)) for name, part in powered.items()}
