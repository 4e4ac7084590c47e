"""sRGB ↔ Lab without scikit-image: data/color.py."""

from __future__ import annotations

import pytest
import torch

from data.color import lab_to_rgb, lab_to_srgb, rgb_to_lab, srgb_to_lab

# sRGB in [0, 1] → CIE Lab (D65), the values scikit-image's rgb2lab gives.
KNOWN = {
    "white": ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
    "black": ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "grey": ((0.5, 0.5, 0.5), (53.389, 0.0, 0.0)),
    "red": ((1.0, 0.0, 0.0), (53.241, 80.092, 67.203)),
    "green": ((0.0, 1.0, 0.0), (87.735, -86.183, 83.179)),
    "blue": ((0.0, 0.0, 1.0), (32.297, 79.188, -107.860)),
}


def as_image(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(3, 1, 1)


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_colours(name):
    rgb, lab = KNOWN[name]
    torch.testing.assert_close(srgb_to_lab(as_image(rgb)).flatten(), torch.tensor(lab), atol=0.02, rtol=0)
    torch.testing.assert_close(lab_to_srgb(as_image(lab)).flatten(), torch.tensor(rgb), atol=1e-3, rtol=0)


def test_round_trip_on_the_networks_scale():
    rgb = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    L, ab = rgb_to_lab(rgb)
    assert L.shape == (2, 1, 8, 8) and ab.shape == (2, 2, 8, 8)
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() <= 1
    torch.testing.assert_close(lab_to_rgb(L, ab), rgb, atol=1e-4, rtol=0)


def test_network_scale_is_L_over_50_minus_1_and_ab_over_110():
    L, ab = rgb_to_lab(as_image(KNOWN["red"][0]) * 2 - 1)
    torch.testing.assert_close(L.flatten(), torch.tensor([53.241 / 50 - 1]), atol=1e-3, rtol=0)
    torch.testing.assert_close(ab.flatten(), torch.tensor([80.092, 67.203]) / 110, atol=1e-3, rtol=0)
    # A model output of L = 1, ab = 0 is white: +1 on every RGB channel.
    torch.testing.assert_close(
        lab_to_rgb(torch.ones(1, 1, 2, 2), torch.zeros(1, 2, 2, 2)), torch.ones(1, 3, 2, 2)
    )


def test_out_of_gamut_lab_is_clipped_to_valid_rgb():
    rgb = lab_to_rgb(torch.tensor([0.0]).view(1, 1, 1), torch.tensor([1.0, -1.0]).view(2, 1, 1))
    assert rgb.min() >= -1 and rgb.max() <= 1 and torch.isfinite(rgb).all()
