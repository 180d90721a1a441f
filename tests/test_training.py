"""The fit loop: batching, validation, History, callbacks, schedules and divergence."""
import io
import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.callbacks import Checkpoint, EarlyStopping, ProgressBar
from deltaprop.training import History, fit


@pytest.fixture
def data(rng):
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def manual_gd(net, X, Y, lr, batch_size, epochs, loss="squared_error"):
    """Reference: the seeds' update W <- W - eta grad W, batch by batch, in order, no shuffling."""
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            grads = net.gradients(X[start:start + batch_size], Y[start:start + batch_size], loss=loss)
            for layer, (dW, db) in zip(net.layers, grads):
                layer.W = layer.W - lr * dW
                layer.b = layer.b - lr * db
    return net


@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_fit_equals_the_update_rule_done_by_hand(data, batch_size):
    X, y = data
    Y = np.eye(3)[y]
    net = dp.Network([3, 4, 3], seed=1)
    ref = manual_gd(net.copy(), X, Y, 0.3, batch_size or len(X), epochs=3)
    fit(net, X, y, epochs=3, batch_size=batch_size, optimizer="sgd", learning_rate=0.3, shuffle=False, verbose=0)
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_history_records_every_epoch_with_real_values(data):
    X, y = data
    net = dp.Network([3, 6, 3], activation="tanh", output_activation="softmax", seed=0)
    Xv, yv = X[:10], y[:10]
    h = fit(net, X[10:], y[10:], epochs=5, batch_size=8, optimizer="adam", learning_rate=0.01,
            loss="cross_entropy", validation_data=(Xv, yv), seed=0, verbose=0)
    assert h.epoch == [1, 2, 3, 4, 5]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"} <= set(h.history)
    # the recorded numbers are the network's own loss and accuracy after the last epoch
    assert h["val_loss"][-1] == pytest.approx(net.loss(Xv, np.eye(3)[yv], loss="cross_entropy"), rel=1e-12)
    assert h["val_accuracy"][-1] == pytest.approx(np.mean(net.forward(Xv).argmax(1) == yv))
    assert h["lr"] == [0.01] * 5
    assert json.loads(h.to_json())["val_loss"] == h["val_loss"]


def test_regression_records_rmse_and_r2(rng):
    X = rng.normal(size=(60, 2))
    y = X @ [1.5, -2.0] + 0.3
    net = dp.Network([2, 8, 1], activation="tanh", output_activation="identity", seed=0)
    h = fit(net, X, y, epochs=40, batch_size=10, optimizer="adam", learning_rate=0.02, seed=0, verbose=0)
    pred = net.forward(X)[:, 0]
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
    assert h["rmse"][-1] == pytest.approx(rmse, rel=1e-12) and h["r2"][-1] == pytest.approx(r2, rel=1e-12)
    assert h["r2"][-1] > 0.9


def test_validation_fraction_is_reproducible(data):
    X, y = data
    runs = [fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=3, validation_fraction=0.25, seed=5, verbose=0)
            for _ in range(2)]
    assert runs[0]["val_loss"] == runs[1]["val_loss"]


def test_lr_schedule_sets_each_epochs_rate(data):
    X, y = data
    h = fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=4, learning_rate=0.4, verbose=0,
            lr_schedule=lambda epoch, lr0: lr0 * 0.5 ** epoch)
    assert h["lr"] == [0.4, 0.2, 0.1, 0.05]


def test_early_stopping_restores_the_best_epochs_weights(data):
    X, y = data
    kwargs = dict(batch_size=4, optimizer="sgd", learning_rate=2.0, validation_data=(X[:8], y[:8]), seed=3, verbose=0)
    net = dp.Network([3, 16, 3], activation="relu", output_activation="softmax", seed=0)
    stop = EarlyStopping(patience=3)
    h = fit(net, X[8:], y[8:], epochs=200, loss="cross_entropy", callbacks=[stop], **kwargs)
    best = int(np.argmin(h["val_loss"])) + 1
    assert h.best_epoch == best and h.stopped_early and len(h.epoch) == best + 3
    # an independent run for exactly `best` epochs reaches the same weights
    ref = dp.Network([3, 16, 3], activation="relu", output_activation="softmax", seed=0)
    fit(ref, X[8:], y[8:], epochs=best, loss="cross_entropy", **kwargs)
    for a, b in zip(net.weights, ref.weights):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_every_n_epochs(data, tmp_path, monkeypatch):
    X, y = data
    saved = []
    monkeypatch.setattr("deltaprop.io.save_checkpoint", lambda path, state: saved.append(state.history.epoch[-1]))
    fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=7, verbose=0, callbacks=[Checkpoint(tmp_path / "c.npz", every=3)])
    assert saved == [3, 6, 7]


def test_progress_is_only_a_summary_when_not_a_terminal(data):
    X, y = data
    out = io.StringIO()
    fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=3, callbacks=[ProgressBar(verbose="auto", stream=out)], verbose=0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trained 3 epochs")


def test_divergence_is_caught_and_the_best_weights_kept(rng):
    X = rng.normal(size=(50, 3)) * 100
    y = X.sum(axis=1) * 100
    net = dp.Network([3, 8, 1], activation="relu", output_activation="identity", seed=0)
    with pytest.raises(dp.TrainingDiverged, match="smaller learning rate") as info:
        fit(net, X, y, epochs=20, batch_size=5, learning_rate=1.0, verbose=0)
    assert info.value.history.diverged
    assert all(np.isfinite(w).all() for w in net.weights + net.biases)


@pytest.mark.parametrize("kwargs,words", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"batch_size": 41}, "larger than the 40 training rows"),
    ({"learning_rate": -1.0}, "learning_rate must be"),
    ({"l2": -0.1}, "l2 must be"),
])
def test_bad_settings(data, kwargs, words):
    X, y = data
    with pytest.raises(dp.ConfigError, match=words):
        fit(dp.Network([3, 4, 3], seed=0), X, y, verbose=0, **kwargs)


def test_class_labels_out_of_range(data):
    X, _ = data
    with pytest.raises(dp.DataError, match="class labels 0..2"):
        fit(dp.Network([3, 4, 3], seed=0), X, np.full(40, 3), verbose=0)


def test_history_is_plain_data():
    h = History()
    h.append(1, {"loss": 0.5})
    assert h.to_dict()["loss"] == [0.5] and h.last("loss") == 0.5 and h.last("nope") is None
