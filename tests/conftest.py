import numpy as np
import pytest

import deltaprop as dp

# Hung-yi Lee's lecture network (seed 01): input (1, -1), sigmoid everywhere.
LEE_W = [[[1, -2], [-1, 1]], [[2, -1], [-2, -1]], [[3, -1], [-1, 4]]]
LEE_B = [[1, 0], [0, 0], [-2, 2]]


@pytest.fixture
def lee():
    return dp.Network.from_weights(LEE_W, LEE_B, "sigmoid")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
