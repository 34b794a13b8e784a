"""Tab. 1 ranges, sampling and label checks."""

import numpy as np
import pytest

from specgen.labels import (
    LABEL_NAMES,
    TABLE1_RANGES,
    LabelError,
    check_labels,
    sample_uniform,
)


def test_sampling_is_seeded_and_inside_table1():
    a = sample_uniform(500, 1, LABEL_NAMES)
    assert np.array_equal(a, sample_uniform(500, 1, LABEL_NAMES))
    assert not np.array_equal(a, sample_uniform(500, 2, LABEL_NAMES))
    for j, name in enumerate(LABEL_NAMES):
        r = TABLE1_RANGES[name]
        assert r.low <= a[:, j].min() and a[:, j].max() <= r.high
        assert a[:, j].max() - a[:, j].min() > 0.9 * (r.high - r.low)


def test_check_labels_names_the_problem():
    good = np.array([5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0])
    assert check_labels(good).shape == (1, 6)
    with pytest.raises(LabelError, match="'teff' outside"):
        check_labels(good + np.array([20000, 0, 0, 0, 0, 0]))
    with pytest.raises(LabelError, match="NaN"):
        check_labels(np.where(np.arange(6) == 3, np.nan, good))
    with pytest.raises(LabelError, match=r"shape \(n, 6\)"):
        check_labels(good[:5])
    assert check_labels(good * 10, ranges=None).shape == (1, 6)
