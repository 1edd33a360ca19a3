"""Training windows: overlapping sequences cut from contiguous segments, never across their ends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Windows:
    """All windows of ``length`` = sequence_length + 1 rows from a set of segments.

    ``rows`` (N, D) holds the segments end to end; ``starts`` (W,) the first row of each window.
    A batch is gathered on demand, so memory is the rows, not W x length copies.
    """

    rows: torch.Tensor
    starts: torch.Tensor
    length: int

    def __len__(self) -> int:
        return int(self.starts.numel())

    def batch(
        self, indices: torch.Tensor, noise_widths: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets (B, sequence_length, D): targets are the inputs one step later.

        With ``noise_widths`` (D,), every value of the window gets uniform noise in [-w/2, w/2)
        (dequantisation), drawn from ``generator``; the input and the target of a step see the same noise.
        """
        window = self.rows[self.starts[indices].unsqueeze(1) + torch.arange(self.length)]  # (B, L + 1, D)
        if noise_widths is not None:
            window = window + (torch.rand(window.shape, generator=generator) - 0.5) * noise_widths
        return window[:, :-1], window[:, 1:]


def make_windows(segments: list[np.ndarray], sequence_length: int, stride: int = 1) -> Windows:
    """Windows of ``sequence_length + 1`` rows every ``stride`` rows inside each segment (n_i, D)."""
    length = sequence_length + 1
    dimension = segments[0].shape[1] if segments else 0
    starts, offset = [], 0
    for segment in segments:
        if segment.shape[0] >= length:
            starts.append(offset + np.arange(0, segment.shape[0] - length + 1, stride))
        offset += segment.shape[0]
    rows = np.concatenate(segments) if segments else np.empty((0, dimension), dtype=np.float32)
    all_starts = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
    return Windows(torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)), torch.from_numpy(all_starts.astype(np.int64)), length)
