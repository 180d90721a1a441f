"""The fit loop: batching, validation, History, callbacks, schedules and divergence."""
import io
import json
import re

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


@pytest.mark.parametrize("labels,words", [
    (np.arange(40) % 3 + 1, "received 3 (row 2)"),  # off by one: 1..3
    (np.where(np.arange(40) % 3 == 1, np.nan, 0.0), "received nan (row 1)"),
    (np.full(40, 0.5), "received 0.5 (row 0)"),
])
def test_bad_class_labels_are_shown_as_plain_python_values(data, labels, words):
    X, _ = data
    with pytest.raises(dp.DataError) as info:
        fit(dp.Network([3, 4, 3], seed=0), X, labels, verbose=0)
    assert words in str(info.value) and "np." not in str(info.value)


def test_class_names_need_a_model_not_a_network(data):
    X, _ = data
    with pytest.raises(dp.DataError, match="Network.fit needs numeric targets.*dtype <U1; for class names use deltaprop.Model"):
        fit(dp.Network([3, 4, 3], seed=0), X, np.array(["a", "b", "c", "d"] * 10), verbose=0)


@pytest.mark.parametrize("sizes,out,loss,targets,words", [
    ([3, 4, 2], "sigmoid", "binary_cross_entropy", np.c_[np.full(40, 5.0), np.zeros(40)], "from 0.0 to 5.0"),
    ([3, 4, 1], "sigmoid", "binary_cross_entropy", np.arange(40) % 3, "from 0 to 2 (class labels 0..2 need 3 outputs"),
    ([3, 4, 2], "softmax", "cross_entropy", np.c_[np.full(40, -0.5), np.full(40, 1.5)], "from -0.5 to 1.5"),
    ([3, 4, 2], "sigmoid", "cross_entropy", np.c_[np.full(40, 2.0), np.zeros(40)], "from 0.0 to 2.0"),
])
def test_cross_entropy_targets_outside_0_1_are_refused(data, sizes, out, loss, targets, words):
    # -y log a - (1 - y) log(1 - a) with y = 5 has no minimum: the loss would run off to -inf.
    X, _ = data
    with pytest.raises(dp.DataError) as info:
        fit(dp.Network(sizes, output_activation=out, seed=0), X, targets, loss=loss, epochs=1, verbose=0)
    assert f"loss {loss!r} needs targets between 0 and 1" in str(info.value) and words in str(info.value)
    with pytest.raises(dp.DataError, match="needs targets between 0 and 1"):  # the validation targets alike
        fit(dp.Network(sizes, output_activation=out, seed=0), X, np.clip(targets, 0, 1), loss=loss, epochs=1,
            verbose=0, validation_data=(X, targets))


def test_soft_labels_train_with_cross_entropy(data):
    X, _ = data
    soft = np.c_[np.full(40, 0.2), np.full(40, 0.8)]  # label smoothing: any targets in [0, 1] are fine
    net = dp.Network([3, 4, 2], output_activation="softmax", seed=0)
    h = fit(net, X, soft, loss="cross_entropy", epochs=30, learning_rate=0.5, verbose=0)
    # the minimum of -0.2 log a1 - 0.8 log a2 is the entropy of (0.2, 0.8), reached at a = (0.2, 0.8)
    entropy = -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))
    assert entropy < h["loss"][-1] < h["loss"][0] and h["loss"][-1] == pytest.approx(entropy, abs=0.01)


@pytest.mark.parametrize("rate,shown", [(-1.0, "-1.0"), (0, "0"), (float("nan"), "nan"), (np.float64(-2.0), "-2.0"),
                                        (None, "None")])
def test_lr_schedule_rates_are_checked_like_learning_rate(data, rate, shown):
    X, y = data
    net = dp.Network([3, 4, 3], seed=0)
    before = [w.copy() for w in net.weights]
    with pytest.raises(dp.ConfigError) as info:
        fit(net, X, y, epochs=3, learning_rate=0.1, lr_schedule=lambda epoch, lr0: lr0 if epoch < 1 else rate, verbose=0)
    assert str(info.value) == (f"lr_schedule(1, 0.1) returned a bad learning rate: "
                               f"learning_rate must be a number in (0, inf); received {shown}")
    assert not all(np.array_equal(a, b) for a, b in zip(net.weights, before))  # epoch 0 ran, at 0.1


def test_an_error_in_a_run_is_not_called_completed(data, capsys):
    X, y = data
    seen = []

    class Watch(dp.Callback):
        def on_train_end(self, state):
            seen.append(state.history.stop_reason)
    with pytest.raises(dp.ConfigError):
        fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=5, lr_schedule=lambda epoch, lr0: lr0 if epoch < 2 else -1,
            verbose=1, callbacks=[Watch()])
    assert seen == ["stopped by ConfigError after 2 epochs"]
    assert "(stopped by ConfigError after 2 epochs)" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs,words", [
    ({"validation_data": (np.ones((2, 3)),)}, "validation_data must be a pair (X_val, Y_val); received a tuple of 1 item"),
    ({"verbose": "yes"}, "verbose must be 0 (silent), 1 (a summary line), 2 (a progress bar) or 'auto'; received 'yes'"),
    ({"callbacks": [print]}, "callbacks must be Callback objects (with on_train_begin, on_epoch_end and on_train_end); "
                             "received <built-in function print>"),
    ({"callbacks": 3}, "callbacks must be a list of Callback objects; received 3"),
    ({"lr_schedule": 0.1}, "lr_schedule must be a function (epoch, lr0) -> learning rate; received 0.1"),
])
def test_bad_fit_arguments_get_one_line(data, kwargs, words):
    X, y = data
    with pytest.raises(dp.ConfigError) as info:
        fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=1, **{"verbose": 0, **kwargs})
    assert str(info.value) == words


@pytest.mark.parametrize("kwargs,words", [
    ({"patience": -1}, "patience must be a whole number of epochs >= 0; received -1"),
    ({"patience": 2.5}, "received 2.5"),
    ({"min_delta": float("nan")}, "min_delta must be a finite number; received nan"),
    ({"mode": "best"}, "mode must be 'auto', 'min' or 'max'"),
])
def test_early_stopping_settings_are_checked(kwargs, words):
    with pytest.raises(dp.ConfigError, match=re.escape(words)):
        EarlyStopping(**kwargs)


def test_early_stopping_with_patience_0_stops_at_the_first_epoch_without_improvement(data):
    X, y = data
    h = fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=50, learning_rate=5.0, optimizer="sgd", verbose=0,
            callbacks=[EarlyStopping(monitor="loss", patience=0)])
    worse = [e for e in range(1, len(h["loss"])) if h["loss"][e] >= min(h["loss"][:e])]
    assert h.stopped_early and len(h.epoch) == worse[0] + 1


def test_history_is_plain_data():
    h = History()
    h.append(1, {"loss": 0.5})
    assert h.to_dict()["loss"] == [0.5] and h.last("loss") == 0.5 and h.last("nope") is None


def test_a_regression_model_trains_on_standardized_targets_and_answers_in_the_datas_units():
    """Model.scale_targets: the network of a Model is exactly a network trained on (y - mean) / spread,
    predictions come back as output * spread + mean, and the History's RMSE is in the data's units."""
    from deltaprop.model import Model
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(200, 3)) * [200, 5, 50]
    y = 20000 + 300 * X[:, 0] + 5000 * X[:, 1] - 400 * X[:, 2] + rng.normal(0, 3000, 200)
    kwargs = dict(epochs=60, batch_size=16, optimizer="adam", learning_rate=0.01, seed=2, verbose=0)
    model = Model(hidden=(6,), activation="tanh")
    history = model.fit(X, y, **kwargs)
    mean, spread = y.mean(), np.sqrt(((y - y.mean()) ** 2).mean())
    assert model.target_mean == pytest.approx([mean], rel=1e-15) and model.target_spread == pytest.approx([spread], rel=1e-15)
    net = dp.Network([3, 6, 1], "tanh", "identity", "glorot_uniform", 2)
    Xs = model.prepare_X(X)  # the features as the model scales them (Scaler, tested on its own)
    by_hand = fit(net, Xs, ((y - mean) / spread)[:, None], loss="squared_error", **kwargs)
    for a, b in zip(model.network.weights + model.network.biases, net.weights + net.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.predict(X), net.predict(Xs)[:, 0] * spread + mean, rtol=1e-12)
    np.testing.assert_allclose(history["rmse"], np.array(by_hand["rmse"]) * spread, rtol=1e-12)
    np.testing.assert_allclose(history["loss"], by_hand["loss"], rtol=1e-12)  # the network's own loss
    rmse = float(np.sqrt(((model.predict(X) - y) ** 2).mean()))
    assert history["rmse"][-1] == pytest.approx(rmse, rel=1e-9)
    assert model.evaluate(X, y)["rmse"] == pytest.approx(rmse, rel=1e-12) and model.evaluate(X, y)["r2"] > 0.9
    unscaled = Model(hidden=(6,), activation="tanh", scale_targets=False)
    unscaled.fit(X, y, **kwargs)  # the identity output starts near 0, thousands below the targets
    assert unscaled.target_mean is None and unscaled.evaluate(X, y)["r2"] < 0.5
    bounded = Model(hidden=(6,), activation="tanh", output_activation="sigmoid", task="regression")
    bounded.fit(X, (y - y.min()) / (y.max() - y.min()), **kwargs)  # a sigmoid's targets must stay in (0, 1)
    assert bounded.target_mean is None and bounded.evaluate(X, (y - y.min()) / (y.max() - y.min()))["r2"] > 0.8
    Y = (rng.random((200, 3)) > 0.5).astype(float)  # 0/1 targets of a cross-entropy stay 0/1
    multi = Model(hidden=(4,), output_activation="sigmoid", loss="binary_cross_entropy")
    multi.fit(X, Y, epochs=2, seed=0, verbose=0)
    assert multi.target_mean is None and multi.predict(X).min() >= 0


def test_model_keeps_an_optimizer_objects_rate_and_fit_takes_numpy_l2(data):
    from deltaprop.model import Model
    X, y = data
    model = Model(hidden=(3,))
    assert model.fit(X, y, epochs=2, optimizer=dp.Adam(0.002), verbose=0)["lr"] == [0.002, 0.002]
    assert model.settings["learning_rate"] == 0.002
    assert Model(hidden=(3,)).fit(X, y, epochs=1, verbose=0)["lr"] == [0.01]  # a name: the default 0.01
    with pytest.raises(dp.ConfigError, match="learning_rate=0.5 given with an optimizer object"):
        Model(hidden=(3,)).fit(X, y, epochs=1, optimizer=dp.Adam(0.002), learning_rate=0.5, verbose=0)
    fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=1, l2=np.int64(0), verbose=0)
    with pytest.raises(dp.ConfigError, match=r"l2 must be a finite number >= 0; received -1$"):
        fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=1, l2=np.int64(-1), verbose=0)


def test_an_lr_schedule_that_takes_other_arguments_says_how_it_is_called(data):
    X, y = data
    with pytest.raises(dp.ConfigError, match=r"lr_schedule is called as lr_schedule\(epoch, lr0\) and returns the rate"):
        fit(dp.Network([3, 4, 3], seed=0), X, y, epochs=2, lr_schedule=lambda epoch: 0.1, verbose=0)


def test_several_outputs_are_standardized_each_by_its_own_spread():
    """Outputs of very different scales (a price and a fraction): each is standardized on its own, so
    the small one is learned too; the History's rmse and R^2 are then over the standardized outputs."""
    from deltaprop.model import Model
    from deltaprop.training import regression_metrics
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([50000 + 20000 * np.tanh(X[:, 0]), 0.5 + 0.1 * np.tanh(X[:, 1])])
    model = Model(hidden=(16,), activation="tanh")
    history = model.fit(X, Y, epochs=150, seed=0, verbose=0)
    np.testing.assert_allclose(model.target_mean, Y.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(model.target_spread, Y.std(axis=0), rtol=1e-13)
    P = model.predict(X)
    for j in range(2):  # each column fitted in its own units
        assert regression_metrics(P[:, [j]], Y[:, [j]])["r2"] > 0.95
    standardized = regression_metrics((P - Y.mean(axis=0)) / Y.std(axis=0), (Y - Y.mean(axis=0)) / Y.std(axis=0))
    assert history["rmse"][-1] == pytest.approx(standardized["rmse"], rel=1e-9)
    assert history["r2"][-1] == pytest.approx(standardized["r2"], rel=1e-9)


def test_evaluate_gives_each_regression_output_its_own_rmse_and_r2():
    """With several outputs the pooled RMSE is the largest scale's; per_output has each one's, in its units."""
    from deltaprop.model import Model
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([50000 + 20000 * np.tanh(X[:, 0]), 0.5 + 0.1 * np.tanh(X[:, 1])])
    model = Model(hidden=(8,), activation="tanh")
    model.fit(X, Y, epochs=20, seed=0, verbose=0)
    report, P = model.evaluate(X, Y), model.predict(X)
    for j, out in enumerate(report["per_output"]):
        e, t = P[:, j] - Y[:, j], Y[:, j] - Y[:, j].mean()
        assert out["output"] == j
        assert out["rmse"] == pytest.approx(np.sqrt(np.mean(e * e)), rel=1e-9)
        assert out["r2"] == pytest.approx(1 - np.sum(e * e) / np.sum(t * t), rel=1e-9)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean((P - Y) ** 2)), rel=1e-9)
    one = Model(hidden=(4,))
    one.fit(X, Y[:, 1], epochs=2, seed=0, verbose=0)
    assert "per_output" not in one.evaluate(X, Y[:, 1])


def test_model_takes_a_dataframes_columns_by_name():
    """Reordered or extra DataFrame columns give the same answers; a missing name is an error (the
    columns were taken by position: a reordered frame gave an RMSE of 4.1 for 0.43, silently)."""
    pd = pytest.importorskip("pandas")
    from deltaprop.model import Model
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, 2.0, 3.0]
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    model = Model(hidden=(4,), activation="tanh")
    model.fit(df, y, epochs=30, seed=0, verbose=0)
    expected = model.predict(X)  # an array: by position
    np.testing.assert_array_equal(model.predict(df[["c", "a", "b"]]), expected)
    np.testing.assert_array_equal(model.predict(df.assign(id=np.arange(80))[["id", "b", "c", "a"]]), expected)
    assert model.evaluate(df[["c", "b", "a"]], y) == model.evaluate(df, y)
    with pytest.raises(dp.DataError, match=r"^X has no column\(s\) c; the model needs: a, b, c; columns are: a, b, d$"):
        model.predict(df.rename(columns={"c": "d"}))
    unnamed = Model(hidden=(4,))  # trained on an array: a frame's columns by position
    unnamed.fit(X, y, epochs=3, seed=0, verbose=0)
    np.testing.assert_array_equal(unnamed.predict(df.set_axis(["p", "q", "r"], axis=1)), unnamed.predict(X))


def test_a_constant_whole_number_target_says_how_to_ask_for_regression():
    from deltaprop.model import Model
    X = np.random.default_rng(0).normal(size=(60, 3))
    with pytest.raises(dp.DataError, match=r"holds only 5\.0 \(task 'auto' takes a few whole numbers for class codes; "
                                           r"pass task='regression' to predict numbers\)$"):
        Model().fit(X, np.full(60, 5.0), epochs=1, verbose=0)
    with pytest.raises(dp.DataError, match=r"holds only 'a'$"):
        Model().fit(X, ["a"] * 60, epochs=1, verbose=0)
    Model(task="regression").fit(X, np.full(60, 5.0), epochs=1, verbose=0)


def test_model_warns_when_a_class_has_no_training_row():
    from deltaprop.model import Model
    X = np.arange(40.0).reshape(-1, 1)
    y = np.array(["a", "b"] * 19 + ["c", "c"])
    with pytest.warns(UserWarning, match=r"^1 of 3 classes has no training row after 36 of 40 rows were held out for "
                                         r"validation \(c\); the network cannot learn it: hold out fewer rows$"):
        Model().fit(X, y, epochs=1, batch_size=None, validation_fraction=0.9, seed=0, verbose=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Model().fit(X, y, epochs=1, validation_fraction=0.2, seed=0, verbose=0)


def test_frames_named_like_unnamed_columns_and_frames_with_a_name_twice():
    pd = pytest.importorskip("pandas")
    from deltaprop.model import Model
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5]
    df = pd.DataFrame(X, columns=["x1", "x2", "x3"])  # the names an array's columns get, given for real
    model = Model(hidden=(4,), activation="tanh")
    model.fit(df, y, epochs=10, seed=0, verbose=0)
    np.testing.assert_array_equal(model.predict(df[["x3", "x1", "x2"]]), model.predict(X))  # by name
    twice = pd.DataFrame(X, columns=["a", "a", "b"])
    for call in (lambda: Model().fit(twice, y, epochs=1, verbose=0), lambda: model.predict(twice)):
        with pytest.raises(dp.DataError, match=r"^the feature names \(X's columns\) name 'a' twice; expected unique names$"):
            call()
    with pytest.raises(dp.DataError, match=r"name 'b' twice"):
        Model().fit(X, y, feature_names=["a", "b", "b"], epochs=1, verbose=0)


def test_feature_names_may_be_any_sequence():
    pd = pytest.importorskip("pandas")
    from deltaprop.model import Model
    X = np.random.default_rng(0).normal(size=(20, 2))
    for names in (pd.Index(["a", "b"]), np.array(["a", "b"]), ("a", "b")):
        model = Model(hidden=(3,))
        model.fit(X, [0, 1] * 10, epochs=1, verbose=0, feature_names=names)
        assert model.feature_names == ["a", "b"]
