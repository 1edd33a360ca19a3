"""Feature names and units, importable without numpy (config and the CLI use them)."""

from __future__ import annotations

CHROMA_ORDER: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CHROMA_NAMES: tuple[str, ...] = tuple(f"Chroma{i:02d}" for i in range(1, len(CHROMA_ORDER) + 1))
SPECTRAL_SHAPE_NAMES: tuple[str, ...] = (
    "SpectralCentroid",
    "SpectralSpread",
    "SpectralSkewness",
    "SpectralKurtosis",
    "SpectralRolloff",
    "SpectralVariation",
    "SpectralDecrease",
    "SpectralSlope",
)
#: features that compare a frame with the one before: the frame where the sound stops has a silent spectrum and these
#: not 0 (the spectral variation is 1)
BETWEEN_FRAMES: frozenset[str] = frozenset({"SpectralVariation"})
#: the 20 values of the instrument's Spectral category, the paper's model input
SPECTRAL_NAMES: tuple[str, ...] = SPECTRAL_SHAPE_NAMES + CHROMA_NAMES
SIGNAL_NAMES: tuple[str, ...] = ("ZeroCrossingRate", "TotalEnergy")
YIN_NAMES: tuple[str, ...] = ("Frequency", "Energy", "Periodicity", "AC1")
TRISTIMULUS_NAMES: tuple[str, ...] = tuple(f"HarmonicTristimulus{i:02d}" for i in range(1, 4))
HARMONIC_NAMES: tuple[str, ...] = (
    "FundamentalFrequency",
    "Inharmonicity",
    "HarmonicSpectralCentroid",
    "HarmonicSpectralDeviation",
    "HarmonicSpectralSpread",
    "HarmonicOddToEvenRatio",
    *TRISTIMULUS_NAMES,
)
MFCC_NAMES: tuple[str, ...] = tuple(f"MFCC{i:02d}" for i in range(1, 14))
PERCEPTUAL_NAMES: tuple[str, ...] = ("Loudness", "Sharpness", "PerceptualSpread", *MFCC_NAMES)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Spectral": SPECTRAL_NAMES,
    "Signal": SIGNAL_NAMES,
    "Yin": YIN_NAMES,
    "Harmonic": HARMONIC_NAMES,
    "Perceptual": PERCEPTUAL_NAMES,
}
FEATURE_NAMES: tuple[str, ...] = SPECTRAL_NAMES + SIGNAL_NAMES + YIN_NAMES + HARMONIC_NAMES + PERCEPTUAL_NAMES
UNITS: dict[str, str] = {
    "SpectralCentroid": "Hz",
    "SpectralSpread": "Hz",
    "SpectralSkewness": "1",
    "SpectralKurtosis": "1",
    "SpectralRolloff": "Hz",
    "SpectralVariation": "1",
    "SpectralDecrease": "1",
    "SpectralSlope": "1/Hz",
    **dict.fromkeys(CHROMA_NAMES, "1 (max-normalised)"),
    "ZeroCrossingRate": "Hz",
    "TotalEnergy": "full scale^2 (mean square)",
    "Frequency": "Hz",
    "Energy": "full scale (RMS)",
    "Periodicity": "1",
    "AC1": "1",
    "FundamentalFrequency": "Hz",
    "Inharmonicity": "1",
    "HarmonicSpectralCentroid": "Hz",
    "HarmonicSpectralDeviation": "1 (of the strongest harmonic)",
    "HarmonicSpectralSpread": "1 (of the harmonic centroid)",
    "HarmonicOddToEvenRatio": "1",
    **dict.fromkeys(TRISTIMULUS_NAMES, "1"),
    "Loudness": "sone-like (sum of band energies ^ 0.23)",
    "Sharpness": "acum-like",
    "PerceptualSpread": "1",
    **dict.fromkeys(MFCC_NAMES, "dB (DCT of log mel energies)"),
}


def chroma_columns(names: tuple[str, ...] | list[str]) -> slice | None:
    """The columns of the 12 chroma values in ``names`` when all are there, in order; else None."""
    if CHROMA_NAMES[0] not in names:
        return None
    first = list(names).index(CHROMA_NAMES[0])
    found = slice(first, first + len(CHROMA_NAMES))
    return found if tuple(names[found]) == CHROMA_NAMES else None
