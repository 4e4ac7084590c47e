"""sRGB ↔ CIE Lab (D65 white, 2° observer) on torch tensors, so colorization needs no scikit-image.

The constants are those of scikit-image's rgb2lab/lab2rgb, which the reference uses, so the numbers match
it. Channels are on dim -3: (3, H, W) or (N, 3, H, W).

Two levels:
* ``srgb_to_lab`` / ``lab_to_srgb``: sRGB in [0, 1] ↔ Lab in its own units (L in [0, 100], a/b about ±110).
* ``rgb_to_lab`` / ``lab_to_rgb``: the networks' scale, as the colorization dataset and model use it:
  RGB in [-1, 1] ↔ (L / 50 − 1, ab / 110), i.e. L = (x + 1)·50 and ab = x·110 (SPEC §2, §5).
"""

from __future__ import annotations

import torch

# Linear sRGB → XYZ (sRGB primaries, D65), and the D65 reference white in XYZ.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE = (0.95047, 1.0, 1.08883)
# CIE f(t): cube root above (6/29)³, a line below it; 7.787 and 0.008856 are the rounded CIE constants.
_EPSILON = 0.008856
_KAPPA = 7.787


def _matmul_channels(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix, x)


def _per_channel(values: tuple[float, ...], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(3, 1, 1)


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] → Lab (L in [0, 100])."""
    rgb = rgb.clamp(0.0, 1.0)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = torch.tensor(_XYZ_FROM_RGB, dtype=rgb.dtype, device=rgb.device)
    xyz = _matmul_channels(matrix, linear) / _per_channel(_WHITE, rgb)
    f = torch.where(xyz > _EPSILON, xyz.clamp_min(_EPSILON) ** (1.0 / 3.0), _KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_srgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab → sRGB in [0, 1]; colours outside the sRGB gamut are clipped."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16.0) / 116.0
    # scikit-image clips z at 0 (a very large b); do the same so out-of-gamut input gives the same colour.
    f = torch.stack([fy + a / 500.0, fy, (fy - b / 200.0).clamp_min(0.0)], dim=-3)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / _KAPPA) * _per_channel(_WHITE, lab)
    matrix = torch.linalg.inv(torch.tensor(_XYZ_FROM_RGB, dtype=torch.float64)).to(lab.dtype).to(lab.device)
    linear = _matmul_channels(matrix, xyz)
    srgb = torch.where(
        linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055, 12.92 * linear
    )
    return srgb.clamp(0.0, 1.0)


def rgb_to_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB in [-1, 1] → (L, ab) normalised as the colorization dataset emits them: L/50 − 1 and ab/110."""
    lab = srgb_to_lab((rgb + 1.0) / 2.0)
    return lab.narrow(-3, 0, 1) / 50.0 - 1.0, lab.narrow(-3, 1, 2) / 110.0


def lab_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Normalised (L, ab) as the colorization model sees them → RGB in [-1, 1] (like every other visual).

    L = (x + 1)·50 and ab = x·110, as the reference's colorization model converts them.
    """
    lab = torch.cat([(L + 1.0) * 50.0, ab * 110.0], dim=-3)
    return lab_to_srgb(lab) * 2.0 - 1.0
