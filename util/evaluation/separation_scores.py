"""data05's scores of one separated track: SI-SDR with a rule for silent estimates, the error relative to the
source's energy, and the false-alarm energy on tiles where the source is absent.

Our own definitions (the paper gives none):

- **Silent estimate** (an all-zero track, e.g. an empty GAN mask): SI-SDR is undefined for it (there is
  nothing to scale), but dropping it would average methods over different tiles. It scores the *chance
  level* :func:`silent_si_sdr_db`: the SI-SDR of an estimate that holds no information about the source,
  -10 log10(n - 2) dB for n samples (about -48 dB for a 256-frame tile at hop 256). That is the SI-SDR of
  the silent track made audible by any tiny white dither, as the ratio of expected energies: once its mean
  is removed a white estimate has n - 1 degrees of freedom, its projection on the reference (the target)
  keeps 1 of them and the distortion the other n - 2. A track holding only other sources is about as
  uncorrelated with this one and scores in the same range, so a miss counts like a wrong guess instead of
  being dropped from the mean. Its SI-SDR improvement is that floor minus the mixture's SI-SDR.
- **Error re source** :func:`error_db`: 10 log10(||estimate - source||^2 / ||source||^2) dB, so clips
  whose levels differ by tens of dB weigh alike; 0 dB is what a silent estimate scores, below 0 dB the
  estimate is closer to the source than silence. Floored at -120 dB (a perfect estimate).
- **False alarm** :func:`false_alarm_percent`: on a tile where the source is absent, the track's energy as
  a percentage of the mixture's energy on that tile: 0 for a silent track, 100 for a track that passes the
  whole mixture.
"""

from __future__ import annotations

import numpy as np

from util.metrics import si_sdr

ERROR_FLOOR_DB = -120.0     # error_db of a perfect estimate (as SI-SDR's own cap of 120 dB)


def energy(signal: np.ndarray) -> float:
    """Sum of squares, in (full scale)^2 x samples."""
    x = np.asarray(signal, np.float64).ravel()
    return float(x @ x)


def silent_si_sdr_db(n_samples: int) -> float:
    """The SI-SDR a silent estimate of ``n_samples`` samples scores (dB): -10 log10(n_samples - 2), chance level."""
    return float(-10.0 * np.log10(max(n_samples - 2, 1)))


def is_silent(estimate: np.ndarray) -> bool:
    """True when the estimate has no energy once its mean is removed (as SI-SDR sees it)."""
    x = np.asarray(estimate, np.float64).ravel()
    return energy(x - x.mean()) == 0.0 if x.size else True


def scored_si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """SI-SDR (dB) of ``estimate`` against ``reference``, a silent estimate scoring :func:`silent_si_sdr_db`.
    NaN only when the reference itself is silent (nothing to recover)."""
    if is_silent(estimate) and not is_silent(reference):
        return silent_si_sdr_db(np.asarray(reference).size)
    return si_sdr(estimate, reference)


def scored_si_sdr_improvement(estimate: np.ndarray, reference: np.ndarray, mixture: np.ndarray) -> float:
    """:func:`scored_si_sdr` of the estimate minus the SI-SDR of the unprocessed mixture (dB)."""
    return scored_si_sdr(estimate, reference) - si_sdr(mixture, reference)


def error_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    """10 log10(||estimate - reference||^2 / ||reference||^2) in dB, at least ``ERROR_FLOOR_DB``; NaN for a
    silent reference."""
    est = np.asarray(estimate, np.float64).ravel()
    ref = np.asarray(reference, np.float64).ravel()
    if est.shape != ref.shape:
        raise ValueError(f"estimate and reference differ in shape: {est.shape} vs {ref.shape}")
    ref_energy = energy(ref)
    if ref_energy == 0.0:
        return float("nan")
    return float(10.0 * np.log10(max(energy(est - ref) / ref_energy, 10.0 ** (ERROR_FLOOR_DB / 10.0))))


def false_alarm_percent(estimate: np.ndarray, mixture: np.ndarray) -> float:
    """Energy of a track on a tile where its source is absent, in % of the mixture's energy there; NaN for a
    silent mixture."""
    mixture_energy = energy(mixture)
    return float(100.0 * energy(estimate) / mixture_energy) if mixture_energy > 0 else float("nan")
