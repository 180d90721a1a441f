"""K networks trained at once give each network the numbers it gets when trained alone."""
import numpy as np
import pytest

import deltaprop as dp
from deltaprop import ensemble, fast, recipes


def assert_same_result(a, b, tol=1e-12):
    assert a.seed == b.seed and a.recipe == b.recipe
    assert sorted(a.history.history) == sorted(b.history.history)
    for key in b.history.history:
        if key != "time":
            np.testing.assert_allclose(a.history[key], b.history[key], rtol=tol, atol=tol, err_msg=key)
    assert a.val_accuracy == b.val_accuracy and a.history.best_epoch == b.history.best_epoch
    for x, y in zip(a.network.weights + a.network.biases, b.network.weights + b.network.biases):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


@pytest.mark.parametrize("recipe, seeds", [("faithful", [0, 1, 2, 7]), ("default", [0, 3, 5])])
def test_run_seeds_matches_each_recipe_run(recipe, seeds):
    results = ensemble.run_seeds(recipe, seeds, epochs=60)
    for seed, got in zip(seeds, results):
        assert_same_result(got, recipes.RECIPES[recipe](seed, epochs=60))


def test_without_the_extension_the_runs_are_trained_one_by_one(monkeypatch):
    monkeypatch.setattr(fast, "AVAILABLE", False)
    got = ensemble.run_seeds("faithful", [3, 4], epochs=20)
    for seed, result in zip([3, 4], got):
        assert_same_result(result, recipes.faithful(seed, epochs=20))


def test_mixed_settings_fall_back_and_learning_rates_may_differ():
    runs = [recipes.default_run(0, learning_rate=0.1), recipes.default_run(1, learning_rate=0.5)]
    alone = [recipes.default(0, learning_rate=0.1, epochs=10), recipes.default(1, learning_rate=0.5, epochs=10)]
    for hist, ref in zip(ensemble.train_many(runs, 10), alone):
        np.testing.assert_allclose(hist["val_loss"], ref.history["val_loss"], rtol=1e-12)
    runs, ref = [recipes.default_run(0), recipes.default_run(1)], recipes.default_run(1)
    runs[1].settings["optimizer"], ref.settings["optimizer"] = dp.Adam(0.01), dp.Adam(0.01)
    assert not ensemble._stackable(runs)  # not one kernel call: trained one by one, still right
    hist = ensemble.train_many(runs, 3)[1]
    np.testing.assert_array_equal(hist["val_loss"], ref.network.fit(*ref.data, epochs=3, verbose=0, **ref.settings)["val_loss"])


@pytest.mark.parametrize("hidden, out, loss, batch", [
    (["tanh", "relu"], "sigmoid", "binary_cross_entropy", 1),  # side by side (SIMD across networks)
    (["leaky_relu"], "identity", "squared_error", 1),
    (["sigmoid"], "softmax", "cross_entropy", 1),  # one network after another in the kernel
    (["tanh"], "sigmoid", "cross_entropy", 4),
])
@pytest.mark.parametrize("n_nets, dtype, metrics", [(3, "float64", "exact"), (11, "float64", "running"),
                                                    (10, "float32", "exact"), (7, "float64", "exact")])
def test_train_many_equals_fit_for_each_network(hidden, out, loss, batch, n_nets, dtype, metrics):
    """3 networks: one after another; 10 and 11: a block of 8 side by side, the rest one after another;
    7: one block side by side (its last lane repeats the last network)."""
    rng = np.random.default_rng(9)
    X, labels = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    y = labels if out != "identity" else X[:, :1] - X[:, 1:2]
    sizes = [3] + [5] * len(hidden) + [2 if out != "identity" else 1]

    def runs():
        return [recipes.Run(dp.Network(sizes, activation=hidden, output_activation=out, seed=s, dtype=dtype)
                            .freeze(layers=[1], params="b"),
                            (X, y), dict(batch_size=batch, optimizer=dp.SGD(0.05 * (s % 4 + 1)), loss=loss, shuffle=True,
                                         seed=s, l2=0.001, validation_data=(X[:7], y[:7]), train_metrics=metrics), None)
                for s in range(n_nets)]
    tol = 1e-12 if dtype == "float64" else 2e-4
    together, alone = runs(), runs()
    assert ensemble._stackable(together) == fast.AVAILABLE  # one kernel call for all of them
    hists = ensemble.train_many(together, 12)
    for run, ref, hist in zip(together, alone, hists):
        ref_hist = ref.network.fit(*ref.data, epochs=12, verbose=0, **ref.settings)
        for key in ref_hist.history:
            if key != "time":
                np.testing.assert_allclose(hist[key], ref_hist[key], rtol=tol, atol=tol, err_msg=key)
        for a, b in zip(run.network.weights + run.network.biases, ref.network.weights + ref.network.biases):
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
