"""The generated photos every image test uses: the same for a seed, different between
seeds, with the grain they are asked for."""

from __future__ import annotations

from PIL import ImageStat

from tests.support import imagegen


def test_a_seed_gives_the_same_photo_and_another_seed_another() -> None:
    first = imagegen.photo_jpeg(640, 480, seed=3)
    assert imagegen.photo_jpeg(640, 480, seed=3) == first
    assert imagegen.photo_jpeg(640, 480, seed=4) != first


def test_the_grain_has_the_deviation_asked_for() -> None:
    for sigma in (3.0, 6.0, 12.0):
        grain = ImageStat.Stat(imagegen._noise_tile(sigma, seed=1))
        assert abs(grain.mean[0] - 128) < 0.5
        assert abs(grain.stddev[0] - sigma) < 0.1 * sigma
