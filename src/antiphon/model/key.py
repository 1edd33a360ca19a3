"""Answering in the performer's key: the shift of the chroma that takes what was heard into the keys
the model was trained in.

A model trained on a few songs learns their keys: answering a song in another key, its chroma
leaves the prompt's pitch classes within half a second for the training songs' (on the held-out
song, in D, the strongest class of its answers at 5 s was C or G in 59 % of them, where the song
plays them in 12 %; docs/model.md, round 14). The engine therefore keeps the pitch-class profile
of what it hears (the exponential running mean of the sounding frames' chroma, time constant
:data:`KEY_MEMORY_S`) and compares it with the profile of each training song in all twelve
rotations (Pearson correlation over the 12 classes, as Krumhansl-Schmuckler key finding compares
a profile with a key's). Where some rotation of the heard profile matches a song better than the
profile as heard, by more than a margin, the engine rotates the chroma of every frame it hears
by that many semitones before the model sees it, and rotates the chroma of every frame it plays
back: the model answers in its own keys, the performer hears the answer in theirs.

The margin is a prior for the corpus's own keys: a 0.9 s prompt's profile is noisy, and on the
demo corpus (prompts from the training songs, in their keys) the best rotation of most prompts
is not 0 (docs/model.md, round 14).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from antiphon.model.compiled import njit

#: semitones in an octave: the chroma's classes
CLASSES = 12
#: time constant, s, of the running pitch-class profile of what is heard
KEY_MEMORY_S = 30.0
#: sounding frames heard before the key is followed (0.5 s at the analysis hop); fewer leave the shift as it is
KEY_MIN_FRAMES = 43
#: sounding frames a training song needs for its profile to count
PROFILE_MIN_FRAMES = 86


def pitch_class_profiles(chroma: Sequence[np.ndarray], min_frames: int = PROFILE_MIN_FRAMES) -> np.ndarray:
    """Each sequence's pitch-class profile: the mean chroma (12,) of its sounding frames (those with a
    class above 0), for each of ``chroma`` (n_i, 12) with at least ``min_frames`` of them -> (S, 12)."""
    profiles = []
    for rows in chroma:
        rows = np.asarray(rows, dtype=np.float64)
        sounding = rows[rows.max(axis=1) > 0.0] if rows.shape[0] else rows
        if sounding.shape[0] >= min_frames:
            profiles.append(sounding.mean(axis=0))
    return np.array(profiles, dtype=np.float64).reshape(len(profiles), CLASSES)


def standardised(profile: np.ndarray) -> np.ndarray:
    """A profile (..., 12) minus its mean, over its standard deviation (a flat profile: all zeros)."""
    centred = profile - profile.mean(axis=-1, keepdims=True)
    spread = centred.std(axis=-1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0.0)


def rotate(chroma: np.ndarray, shift: int) -> np.ndarray:
    """The chroma (..., 12) moved up ``shift`` semitones: class k of the result is class k - shift of ``chroma``."""
    return np.roll(chroma, shift, axis=-1)


class KeyFollower:
    """The running pitch-class profile of what is heard and the shift that takes it into the training keys.

    ``profiles`` (S, 12) are the training songs' (:func:`pitch_class_profiles`); ``hop_s`` the time
    between frames heard (the analysis hop), which sets the running mean's weight per frame. The
    correlations are compiled (:func:`_correlations`): in NumPy, choosing a shift took 32 µs, a third
    of the engine's whole step budget, for every frame a performer plays.
    """

    def __init__(self, profiles: np.ndarray, hop_s: float, margin: float, hear_frame: Callable[..., int] | None = None) -> None:
        songs = standardised(np.asarray(profiles, dtype=np.float64).reshape(-1, CLASSES))
        #: (12 S, 12): row r S + s is song s's profile moved down r semitones, so that its product with the heard
        #: profile is the song's correlation with the heard profile moved up r, times 12
        self._rotated = np.ascontiguousarray(np.concatenate([rotate(songs, -r) for r in range(CLASSES)]))
        self._songs = songs.shape[0]
        self._decay = math.exp(-hop_s / KEY_MEMORY_S)
        self.margin = float(margin)
        #: :func:`_hear_frame`, or the same compiled ahead of time (the engine's, :mod:`antiphon.model.ahead_of_time`)
        self._hear_frame = hear_frame or _hear_frame
        self.reset()

    def reset(self) -> None:
        """Forget what was heard: no profile, shift 0."""
        self._total = np.zeros(CLASSES)  # the weighted sum of the sounding frames' chroma (the profile, times a weight)
        self._frames = np.zeros(1, dtype=np.int64)  # sounding frames heard
        self.shift = 0

    def state(self) -> tuple:
        return self._total.copy(), int(self._frames[0]), self.shift

    def set_state(self, state: tuple) -> None:
        total, frames, self.shift = state
        self._total[:] = total
        self._frames[0] = frames

    def hear(self, chroma: np.ndarray) -> int:
        """Add frames' chroma (n, 12), as heard (instrument units, max 1; silent frames all 0, and left out)
        to the profile and return the shift (semitones up, 0-11) to apply from now on."""
        chroma = np.asarray(chroma, dtype=np.float64).reshape(-1, CLASSES)
        sounding = chroma[chroma.max(axis=1) > 0.0]
        n = sounding.shape[0]
        if n:
            weights = self._decay ** np.arange(n - 1, -1, -1)  # the last frame weighs 1
            self._total[:] = self._total * self._decay**n + weights @ sounding
            self._frames[0] += n
            if self._frames[0] >= KEY_MIN_FRAMES:
                self.shift = _choose(self._total, self._rotated, self._songs, self.margin)
        return self.shift

    def hear_frame(self, frame: np.ndarray, start: int) -> int:
        """:meth:`hear` one frame (F,) whose chroma starts at column ``start``: the performer's, on the real-time path."""
        self.shift = self._hear_frame(
            frame, start, self._total, self._frames, self._decay, self._rotated, self._songs, self.margin, self.shift
        )
        return self.shift

    def correlations(self, profile: np.ndarray) -> np.ndarray:
        """(12,): for each shift r, the best correlation of ``profile`` moved up r with a training song's."""
        return _correlations(np.asarray(profile, dtype=np.float64), self._rotated, self._songs)

    def choose(self, profile: np.ndarray) -> int:
        """The shift of ``profile`` (12,) that best matches a training song, where it matches better than the
        profile as it is by more than :attr:`margin`; else 0."""
        return _choose(np.asarray(profile, dtype=np.float64), self._rotated, self._songs, self.margin)


@njit(cache=True, nogil=True)
def _correlations(profile, rotated, songs):
    """For each shift r (12,), the best Pearson correlation of ``profile`` (12,) moved up r with a song's
    profile, ``rotated`` (12 S, 12) standardised and moved down (see :class:`KeyFollower`); all 0 for a flat one."""
    mean = profile.mean()
    spread = math.sqrt(((profile - mean) ** 2).mean())
    out = np.zeros(CLASSES)
    if spread <= 0.0:
        return out
    for r in range(CLASSES):
        best = -np.inf
        for s in range(songs):
            product = 0.0
            for k in range(CLASSES):
                product += rotated[r * songs + s, k] * (profile[k] - mean)
            best = max(best, product)
        out[r] = best / (spread * CLASSES)
    return out


@njit(cache=True, nogil=True)
def _choose(profile, rotated, songs, margin):
    """:meth:`KeyFollower.choose`: the first shift of the best correlation where it beats shift 0's by > margin."""
    correlation = _correlations(profile, rotated, songs)
    best = 0
    for r in range(1, CLASSES):
        if correlation[r] > correlation[best]:
            best = r
    return best if correlation[best] - correlation[0] > margin else 0


@njit(cache=True, nogil=True)
def _hear_frame(frame, start, total, frames, decay, rotated, songs, margin, shift):
    """:meth:`KeyFollower.hear` of one frame, its chroma at ``frame[start:start + 12]``; returns the shift."""
    strongest = 0.0
    for k in range(CLASSES):
        strongest = max(strongest, frame[start + k])
    if strongest <= 0.0:
        return shift
    for k in range(CLASSES):
        total[k] = total[k] * decay + frame[start + k]
    frames[0] += 1
    if frames[0] < KEY_MIN_FRAMES:
        return shift
    return _choose(total, rotated, songs, margin)


@njit(cache=True, nogil=True)
def move(frame, start, shift, low, high):
    """Move the chroma at ``frame[start:start + 12]`` up ``shift`` semitones in place (class k takes class
    k - shift); where ``low`` and ``high`` (12,) are given (not empty) and the frame sounds, keep each class
    within them (a frame played: each class's sounding range)."""
    moved = np.empty(CLASSES)
    strongest = 0.0
    for k in range(CLASSES):
        moved[k] = frame[start + (k - shift) % CLASSES]
        strongest = max(strongest, moved[k])
    for k in range(CLASSES):
        value = moved[k]
        if low.shape[0] and strongest > 0.0:
            value = min(max(value, low[k]), high[k])
        frame[start + k] = value
