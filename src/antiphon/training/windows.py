"""Training windows: overlapping sequences cut from contiguous segments, never across their ends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from antiphon.model.level import input_width, model_inputs


@dataclass(frozen=True)
class Windows:
    """All windows of ``length`` = sequence_length + 1 rows from a set of segments.

    ``rows`` (N, D) holds the segments end to end -- (N, 2D) or (N, 3D) where the model sees the
    running level and activity beside each row (:mod:`antiphon.model.level`), and 2 more values where
    it sees an onset clock (:mod:`antiphon.model.onset`) -- and ``starts`` (W,) the first row of
    each window. A batch is gathered on demand, so memory is the rows, not W x length copies.
    """

    rows: torch.Tensor
    starts: torch.Tensor
    length: int
    n_targets: int  # the model's dimension D: rows hold D values, then their running level and activity where the model sees them

    def __len__(self) -> int:
        return int(self.starts.numel())

    def batch(
        self,
        indices: torch.Tensor,
        noise_widths: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        input_noise: torch.Tensor | None = None,
        chroma: slice | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (B, sequence_length, the rows' width) and targets (B, sequence_length, D): the targets are
        the rows one step later (without their level and activity).

        With ``noise_widths`` (D,), every value of the window gets uniform noise in [-w/2, w/2)
        (dequantisation), drawn from ``generator``; the input and the target of a step see the same noise.
        With ``input_noise`` (D,), the inputs alone then get Gaussian noise of that standard deviation
        (the targets stay as they were), so the model learns to pull a perturbed state back to the music.
        With ``chroma`` (the 12 chroma columns), each window is transposed by a random number of
        semitones (its chroma, and its level's and activity's, rotated, input and target alike; the onset clock has no
        key): the same playing in another key.
        """
        d = self.n_targets
        window = self.rows[self.starts[indices].unsqueeze(1) + torch.arange(self.length)]  # (B, L + 1, D or 2D), a copy
        if chroma is not None:
            width = chroma.stop - chroma.start
            shifts = torch.randint(0, width, (window.shape[0], 1, 1), generator=generator)
            rotated = (torch.arange(width).view(1, 1, -1) - shifts) % width  # column c takes class c - shift
            for offset in range(0, window.shape[-1] // d * d, d):  # the rows' chroma, then the level's and the activity's
                columns = slice(offset + chroma.start, offset + chroma.stop)
                window[..., columns] = torch.gather(window[..., columns], 2, rotated.expand(*window.shape[:2], width))
        if noise_widths is not None:
            window[..., :d] += (torch.rand((*window.shape[:2], d), generator=generator) - 0.5) * noise_widths
        inputs, targets = window[:, :-1], window[:, 1:, :d]
        if input_noise is not None:
            inputs = inputs.clone()
            inputs[..., :d] += torch.randn((*inputs.shape[:2], d), generator=generator) * input_noise
        return inputs, targets


def make_windows(
    segments: list[np.ndarray],
    sequence_length: int,
    stride: int = 1,
    level_steps: int = 0,
    activity_steps: int = 0,
    onset_clock: int = 0,
    heard: list[np.ndarray] | None = None,
) -> Windows:
    """Windows of ``sequence_length + 1`` rows every ``stride`` rows inside each segment (n_i, D);
    with ``level_steps``, ``activity_steps`` and ``onset_clock``, each row carries its running level,
    activity and onset clock computed over its whole segment -- over ``heard`` (the same shapes) where
    given: training gives its rows dequantised once, so that the activity and the clock, which measure
    steps, hear the noise that the model's inputs carry (as the validation rows and the model's own draws do)."""
    length = sequence_length + 1
    dimension = segments[0].shape[1] if segments else 0
    starts, offset = [], 0
    for segment in segments:
        if segment.shape[0] >= length:
            starts.append(offset + np.arange(0, segment.shape[0] - length + 1, stride))
        offset += segment.shape[0]
    seen = (level_steps, activity_steps, onset_clock)
    width = input_width(dimension, *seen)
    rows = (
        np.concatenate([np.c_[s, model_inputs(h, *seen)[:, dimension:]] for s, h in zip(segments, heard or segments)])
        if segments
        else np.empty((0, width), dtype=np.float32)
    )
    all_starts = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
    return Windows(
        torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)), torch.from_numpy(all_starts.astype(np.int64)), length, dimension
    )
