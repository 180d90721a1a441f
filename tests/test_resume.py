"""Ctrl-C, checkpoints and --resume: an interrupted run, resumed, ends with the same weights."""
import os
import shlex
import signal

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import fast
from deltaprop.cli import main
from deltaprop.io import load, load_checkpoint
from deltaprop.training import TrainingInterrupted, fit


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def ctrl_c_at_step(optimizer, n):
    """Make ``optimizer`` send this process a real SIGINT right after its n-th step."""
    original, count = optimizer.step, [0]

    def step(pairs):
        original(pairs)
        count[0] += 1
        if count[0] == n:
            os.kill(os.getpid(), signal.SIGINT)
    optimizer.step = step
    return optimizer


def new_net():
    return dp.Network([5, 8, 3], activation="tanh", output_activation="softmax", seed=1)


SETTINGS = dict(epochs=5, batch_size=8, learning_rate=0.02, loss="cross_entropy", seed=4,
                validation_fraction=0.25, verbose=0)


@pytest.mark.parametrize("optimizer", ["adam", "nesterov"])
@pytest.mark.parametrize("step", [1, 23, 45])
def test_ctrl_c_mid_epoch_then_resume_gives_the_same_weights(data, tmp_path, optimizer, step):
    X, y = data
    reference = new_net()
    ref_history = fit(reference, X, y, optimizer=optimizer, engine="numpy", **SETTINGS)
    net, ck = new_net(), tmp_path / "ck.npz"
    opt = ctrl_c_at_step(dp.get_optimizer(optimizer, SETTINGS["learning_rate"]), step)
    with pytest.raises(TrainingInterrupted, match="after"):
        fit(net, X, y, optimizer=opt, engine="numpy", catch_interrupt=True,
            callbacks=[dp.Checkpoint(ck, every=100)], **{k: v for k, v in SETTINGS.items() if k != "learning_rate"})
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    resumed, checkpoint = load_checkpoint(ck)
    assert checkpoint["resume"]["batch"] == step % 12 and checkpoint["t"] == step
    history = fit(resumed, X, y, optimizer=optimizer, engine="numpy", resume=checkpoint, **SETTINGS)
    for a, b in zip(resumed.weights + resumed.biases, reference.weights + reference.biases):
        np.testing.assert_array_equal(a, b)
    assert history["val_loss"] == ref_history["val_loss"] and history.epoch == [1, 2, 3, 4, 5]


@pytest.mark.skipif(not fast.AVAILABLE, reason="the C extension was not built")
@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_a_checkpoint_resumes_only_with_its_optimizer_and_network(data, tmp_path, engine):
    X, y = data
    path = tmp_path / "ck.npz"
    new_net().fit(X, y, **{**SETTINGS, "epochs": 2}, optimizer="adam", callbacks=[dp.Checkpoint(path)])
    net, checkpoint = load_checkpoint(path)
    with pytest.raises(dp.ConfigError, match="the checkpoint's run used optimizer 'adam'; received 'momentum'"):
        net.fit(X, y, **SETTINGS, optimizer="momentum", resume=checkpoint, engine=engine)
    other = dp.Network([5, 9, 3], activation="tanh", output_activation="softmax", seed=1)
    with pytest.raises(dp.ConfigError, match=r"the checkpoint's weights are shaped \[\(8, 5\), \(3, 8\)\]; received Network"):
        other.fit(X, y, **SETTINGS, optimizer="adam", resume=checkpoint, engine=engine)
    model_path = tmp_path / "mck.npz"  # a Model: only the one load_checkpoint returned can resume
    dp.Model(hidden=(4,)).fit(X, y, epochs=2, seed=0, verbose=0, callbacks=[dp.Checkpoint(model_path)])
    _, model_checkpoint = load_checkpoint(model_path)
    with pytest.raises(dp.ConfigError, match="resume continues the model that load_checkpoint returned"):
        dp.Model(hidden=(4,)).fit(X, y, epochs=4, seed=0, verbose=0, resume=model_checkpoint)
    for bad, words in (({"x": 1}, "received dict without a resume point"), (5, "received int")):
        with pytest.raises(dp.ConfigError, match=words):
            net.fit(X, y, **SETTINGS, optimizer="adam", resume=bad, engine=engine)


def test_an_optimizer_kept_from_another_network_is_refused_not_misapplied(data):
    X, y = data
    opt = dp.Adam(SETTINGS["learning_rate"])
    new_net().fit(X, y, **SETTINGS, optimizer=opt)
    with pytest.raises(dp.ConfigError, match=r"the state of Adam\(.*\) \(from an earlier fit\) does not fit"):
        dp.Network([5, 9, 3], output_activation="softmax", seed=1).fit(X, y, **SETTINGS, optimizer=opt)
    dp.Network([5, 9, 4, 3], output_activation="softmax", seed=1).fit(X, y, **SETTINGS, optimizer=opt)  # other count: renewed
    assert [s[0].shape for s in opt.state] == [(9, 5), (9,), (4, 9), (4,), (3, 4), (3,)]


def test_ctrl_c_in_the_compiled_engine_stops_at_the_epoch_end(data, tmp_path):
    X, y = data
    settings = dict(SETTINGS, batch_size=1, loss="squared_error", epochs=6)
    reference = dp.Network([5, 4, 3], seed=2)
    fit(reference, X, y, optimizer="sgd", engine="compiled", **settings)

    class CtrlC(dp.Callback):
        def on_epoch_end(self, state, epoch, logs):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    net, ck = dp.Network([5, 4, 3], seed=2), tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted):
        fit(net, X, y, optimizer="sgd", engine="compiled", catch_interrupt=True,
            callbacks=[CtrlC(), dp.Checkpoint(ck, every=100)], **settings)
    resumed, checkpoint = load_checkpoint(ck)
    assert checkpoint["resume"] == {**checkpoint["resume"], "epoch": 2, "batch": 0}
    fit(resumed, X, y, optimizer="sgd", engine="compiled", resume=checkpoint, **settings)
    for a, b in zip(resumed.weights, reference.weights):
        np.testing.assert_array_equal(a, b)


def test_a_second_ctrl_c_interrupts_at_once(data):
    X, y = data

    class TwoCtrlC(dp.Callback):
        def on_epoch_end(self, state, epoch, logs):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        fit(new_net(), X, y, catch_interrupt=True, callbacks=[TwoCtrlC()], engine="numpy", **SETTINGS)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _iris_csv(tmp_path):
    iris = dp.load_iris()
    path = tmp_path / "iris.csv"
    path.write_text("".join(",".join(map(str, x)) + f",{c}\n" for x, c in zip(iris.X, iris.y)))
    return str(path)


def test_cli_ctrl_c_saves_a_checkpoint_and_resume_reaches_the_uninterrupted_model(tmp_path, capsys, monkeypatch):
    csv = _iris_csv(tmp_path)
    args = ["train", csv, "--hidden", "6", "--epochs", "12", "--batch-size", "4", "--seed", "3", "-q", "--no-header"]
    assert main(args + ["--out", str(tmp_path / "ref.npz")]) == 0
    calls = [0]

    def counted(update, at):  # a real SIGINT after the at-th call, whichever engine takes it
        def wrapper(*a):
            update(*a)
            calls[0] += 1
            if calls[0] == at:
                os.kill(os.getpid(), signal.SIGINT)
        return wrapper
    monkeypatch.setattr(dp.Adam, "step", counted(dp.Adam.step, 100))  # the NumPy engine: its 100th step
    monkeypatch.setattr(fast.Batched, "train", counted(fast.Batched.train, 4))  # the compiled engine: an epoch a call
    out = tmp_path / "m.npz"
    assert main(args + ["--out", str(out)]) == 130
    err = capsys.readouterr().err
    ck = tmp_path / "m.ckpt.npz"
    assert f"saved a checkpoint to {ck}" in err and f"--resume {ck}" in err and not out.exists()
    again = shlex.split(err.split("resume with: ")[1])
    assert again[:2] == ["deltaprop", "train"] and "--no-header" in again and "-q" in again  # the options as given
    monkeypatch.undo()
    assert main(again[1:]) == 0  # the printed command, as a user would paste it
    assert "resuming at epoch" in capsys.readouterr().out
    a, b = load(out).network, load(tmp_path / "ref.npz").network
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_cli_refuses_to_start_over_an_old_checkpoint(tmp_path, capsys):
    csv, ck = _iris_csv(tmp_path), tmp_path / "m.ckpt.npz"
    assert main(["train", csv, "--epochs", "2", "--checkpoint", str(ck), "-q"]) == 0
    before = ck.read_bytes()
    code = main(["train", csv, "--epochs", "2", "--out", str(tmp_path / "m.npz")])
    assert code == 2 and f"resume it with --resume {ck}, or pass --force" in capsys.readouterr().err
    assert ck.read_bytes() == before


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_cli_never_advises_resuming_or_replacing_a_file_that_is_not_a_checkpoint(tmp_path, capsys, force):
    csv = _iris_csv(tmp_path)
    (tmp_path / "m.ckpt.npz").write_bytes(b"old")
    code = main(["train", csv, "--epochs", "2", "--out", str(tmp_path / "m.npz"), *force])
    err = capsys.readouterr().err
    assert code == 2 and "is not a deltaprop file" in err and "--resume" not in err and "--force" not in err
    assert (tmp_path / "m.ckpt.npz").read_bytes() == b"old"
    for path, words in ((csv, "same file as the input"), (tmp_path, "is a folder")):  # the data; a folder
        code = main(["train", csv, "--epochs", "2", "--checkpoint", str(path), *force])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "--resume" not in err
    assert open(csv).read() == "".join(",".join(map(str, x)) + f",{c}\n" for x, c in zip(dp.load_iris().X, dp.load_iris().y))


def test_cli_divergence_stops_with_advice_and_saves_the_best_weights(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * 1e3
    path = tmp_path / "r.csv"
    path.write_text("a,b,c,t\n" + "".join(f"{a},{b},{c},{a * 1e3 + b}\n" for a, b, c in X))
    out = tmp_path / "m.npz"
    code = main(["train", str(path), "--scale", "none", "--activation", "relu", "--optimizer", "sgd",
                 "--lr", "1", "--epochs", "50", "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 2 and "training diverged in epoch" in captured.err and "smaller learning rate" in captured.err
    assert captured.err.count("\n") == 1
    model = load(out)  # the best weights so far, saved as asked
    assert all(np.isfinite(w).all() for w in model.network.weights)
    assert sorted(os.listdir(tmp_path)) == ["m.npz", "r.csv"]  # no m.ckpt.npz left to resume into the same blow-up


def test_checkpoint_file_that_is_not_a_checkpoint(tmp_path, capsys):
    csv = _iris_csv(tmp_path)
    assert main(["train", csv, "--epochs", "2", "--out", str(tmp_path / "m.npz"), "-q", "--checkpoint-every", "1",
                 "--checkpoint", str(tmp_path / "c.npz")]) == 0
    capsys.readouterr()
    code = main(["train", csv, "--resume", str(tmp_path / "m.npz")])
    assert code == 2 and "without a checkpoint" in capsys.readouterr().err


def test_cli_resuming_a_finished_run_says_there_is_nothing_left(tmp_path, capsys):
    csv, ck, out = _iris_csv(tmp_path), tmp_path / "c.npz", tmp_path / "m.npz"
    assert main(["train", csv, "--epochs", "12", "--checkpoint", str(ck), "-q"]) == 0
    capsys.readouterr()
    assert main(["train", csv, "--resume", str(ck), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nothing left to train: the checkpoint's run finished after epoch 12 of 12" in printed
    assert "resuming at epoch" not in printed
    for a, b in zip(load(out).network.weights, load(ck).network.weights):  # the checkpoint's model, unchanged
        np.testing.assert_array_equal(a, b)


def test_cli_warns_when_resumed_on_other_data(tmp_path, capsys, monkeypatch):
    csv, ck = _iris_csv(tmp_path), tmp_path / "c.npz"
    def ctrl_c_after(update):
        return lambda *a: (update(*a), os.kill(os.getpid(), signal.SIGINT))
    monkeypatch.setattr(dp.Adam, "step", ctrl_c_after(dp.Adam.step))  # whichever engine trains
    monkeypatch.setattr(fast.Batched, "train", ctrl_c_after(fast.Batched.train))
    assert main(["train", csv, "--epochs", "5", "--checkpoint", str(ck), "-q"]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    rows = open(csv).read().splitlines()
    other = tmp_path / "other.csv"
    other.write_text("a,b,c,d,kind\n" + "\n".join(rows[::2]) + "\n")
    assert main(["train", str(other), "--resume", str(ck), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"deltaprop: warning: {other} is not the data {ck} was trained on") and err.count("\n") == 1
    assert "label 'kind', not 'label'" in err and "features a, b, c, d, not x1, x2, x3, x4" in err and "75 rows, not 150" in err


def _same_weights(a, b):
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_cli_resume_with_more_epochs_reaches_the_longer_uninterrupted_run(tmp_path, capsys, monkeypatch):
    """--epochs N beside --resume sets a new total: a finished run goes on, an interrupted one goes
    further than it was set to, and both end with the weights of one run of N epochs."""
    csv, ck = _iris_csv(tmp_path), tmp_path / "c.npz"
    args = ["train", csv, "--hidden", "6", "--batch-size", "8", "--seed", "3", "--no-header"]
    assert main(args + ["--epochs", "10", "--out", str(tmp_path / "ref.npz"), "-q"]) == 0
    assert main(args + ["--epochs", "6", "--checkpoint", str(ck), "-q"]) == 0  # finished; the checkpoint is kept
    capsys.readouterr()
    assert main(["train", csv, "--no-header", "--resume", str(ck), "--epochs", "10", "--out", str(tmp_path / "a.npz")]) == 0
    out, err = capsys.readouterr()
    assert "resuming at epoch 7 (step 0) of 10 (--epochs 10; the run was set to 6), with the checkpoint's settings" in out
    assert err.startswith("trained epochs 7-10 in ")
    _same_weights(load(tmp_path / "a.npz").network, load(tmp_path / "ref.npz").network)

    def ctrl_c_after(update):
        return lambda *a: (update(*a), os.kill(os.getpid(), signal.SIGINT))
    monkeypatch.setattr(dp.Adam, "step", ctrl_c_after(dp.Adam.step))  # whichever engine trains
    monkeypatch.setattr(fast.Batched, "train", ctrl_c_after(fast.Batched.train))
    assert main(args + ["--epochs", "5", "--checkpoint", str(ck), "--force", "-q"]) == 130
    monkeypatch.undo()
    assert load_checkpoint(ck)[1]["resume"]["epoch"] < 5
    assert main(["train", csv, "--no-header", "--resume", str(ck), "--epochs", "10", "--out", str(tmp_path / "b.npz"), "-q"]) == 0
    _same_weights(load(tmp_path / "b.npz").network, load(tmp_path / "ref.npz").network)


@pytest.mark.parametrize("option", [
    ["--hidden", "9"], ["--hidden", "6", "6"], ["--hid", "9"], ["--activation", "relu"], ["--output-activation", "sigmoid"],
    ["--loss", "squared_error"], ["--task", "regression"], ["--scale", "minmax"], ["--init", "he_normal"],
    ["--optimizer", "sgd"], ["--lr", "0.5"], ["--l2", "0.1"], ["--batch-size", "4"], ["--val-fraction", "0.3"],
    ["--patience", "3"], ["--seed", "4"]])
def test_cli_resume_refuses_settings_other_than_the_checkpoints(tmp_path, capsys, option):
    csv, ck = _iris_csv(tmp_path), tmp_path / "c.npz"
    assert main(["train", csv, "--hidden", "6", "--batch-size", "8", "--seed", "3", "--epochs", "3",
                 "--checkpoint", str(ck), "-q"]) == 0
    before = ck.read_bytes()
    capsys.readouterr()
    code = main(["train", csv, "--resume", str(ck), *option, "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    flag = "--hidden" if option[0] == "--hid" else option[0]
    had = "no --patience" if flag == "--patience" else f"{flag} "
    assert code == 2 and err.startswith(f"deltaprop: error: {flag} {' '.join(option[1:])}: the checkpoint's run has {had}")
    assert "a resumed run keeps its settings; leave" in err and err.count("\n") == 1
    assert ck.read_bytes() == before and not (tmp_path / "m.npz").exists()


def test_cli_resume_takes_the_checkpoints_own_settings_and_no_fewer_epochs(tmp_path, capsys):
    csv, ck = _iris_csv(tmp_path), tmp_path / "c.npz"
    same = ["--hidden", "6", "--batch-size", "8", "--seed", "3", "--optimizer", "adam", "--lr", "0.01", "--task", "auto",
            "--activation", "sigmoid", "--loss", "cross_entropy", "--val-fraction", "0.2", "--scale", "standard"]
    assert main(["train", csv, *same, "--epochs", "4", "--checkpoint", str(ck), "-q"]) == 0
    capsys.readouterr()
    assert main(["train", csv, "--resume", str(ck), *same, "--epochs", "4"]) == 0  # the same values: accepted
    assert "nothing left to train" in capsys.readouterr().out
    assert main(["train", csv, "--resume", str(ck), "--epochs", "3"]) == 2
    assert capsys.readouterr().err == ("deltaprop: error: --epochs 3: the checkpoint's run has already trained 4 epochs; "
                                       "expected at least 4 (the new total)\n")


def test_a_checkpoint_beside_early_stopping_holds_the_weights_training_stopped_with(data, tmp_path):
    """EarlyStopping puts its best weights back after every callback's on_train_end, so the
    Checkpoint saved then holds the weights a resumed run goes on from (it held the best epoch's,
    and the resumed run went off course)."""
    from deltaprop.callbacks import Callback, Checkpoint, EarlyStopping
    X, y = data
    kw = dict(batch_size=7, optimizer="adam", learning_rate=0.5, loss="cross_entropy", seed=3, verbose=0,
              validation_fraction=0.25)  # val_loss 1.34 0.86 0.56 0.41 0.93 1.11 ...: epoch 4 the best of 6

    class StopAt(Callback):
        def on_epoch_end(self, state, epoch, logs):
            state.stop = epoch == 6
    reference = new_net()
    whole = reference.fit(X, y, epochs=10, callbacks=[EarlyStopping(patience=100)], **kw)
    ck = tmp_path / "ck.npz"
    first = new_net()
    assert first.fit(X, y, epochs=10, callbacks=[EarlyStopping(patience=100), Checkpoint(ck), StopAt()], **kw).best_epoch == 4
    resumed, checkpoint = load_checkpoint(ck)
    assert not np.array_equal(first.weights[0], resumed.weights[0])  # first ends with epoch 4's, the checkpoint has 6's
    again = resumed.fit(X, y, epochs=10, resume=checkpoint, callbacks=[EarlyStopping(patience=100)], **kw)
    assert again.history["val_loss"] == whole.history["val_loss"] and again.best_epoch == whole.best_epoch
    _same_weights(resumed, reference)


@pytest.mark.parametrize("stop_at", [12, 20])  # best val_loss so far: epoch 8, epoch 13; of all 30: epoch 27
def test_cli_resume_with_patience_reaches_the_uninterrupted_run(tmp_path, capsys, stop_at):
    csv, ck = _iris_csv(tmp_path), tmp_path / "c.npz"
    args = ["train", csv, "--hidden", "8", "--optimizer", "adam", "--lr", "1", "--patience", "50",
            "--val-fraction", "0.3", "--seed", "1", "-q"]
    assert main(args + ["--epochs", "30", "--out", str(tmp_path / "ref.npz")]) == 0
    assert main(args + ["--epochs", str(stop_at), "--checkpoint", str(ck)]) == 0
    assert main(args[:2] + ["--resume", str(ck), "--epochs", "30", "--out", str(tmp_path / "m.npz"), "-q"]) == 0
    _same_weights(load(tmp_path / "m.npz").network, load(tmp_path / "ref.npz").network)
    assert main(args[:2] + ["--resume", str(ck), "--out", str(tmp_path / "same.npz"), "-q"]) == 0  # nothing left:
    alone = tmp_path / "alone.npz"  # the model the finished run saved, its best epoch's weights
    assert main(args + ["--epochs", str(stop_at), "--out", str(alone), "--force"]) == 0
    _same_weights(load(tmp_path / "same.npz").network, load(alone).network)


def test_an_interrupt_between_epochs_says_after_which_epoch(data):
    """Ctrl-C noticed between two epochs: "interrupted after epoch 3" (it said "in epoch 3", an epoch
    that was complete); mid-epoch it says the epoch and the steps done."""
    X, y = data
    from deltaprop.callbacks import Callback

    class CtrlCAt3(Callback):
        def on_epoch_end(self, state, epoch, logs):
            if epoch == 3:
                os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        new_net().fit(X, y, callbacks=[CtrlCAt3()], catch_interrupt=True, **{**SETTINGS, "epochs": 6})
    assert info.value.history.stop_reason == "interrupted after epoch 3" and info.value.history.epoch[-1] == 3
    with pytest.raises(TrainingInterrupted) as info:
        fit(new_net(), X, y, optimizer=ctrl_c_at_step(dp.Adam(0.02), 20), engine="numpy", catch_interrupt=True,
            **{k: v for k, v in SETTINGS.items() if k != "learning_rate"})
    assert info.value.history.stop_reason == "interrupted in epoch 2 after 8 steps"


@pytest.mark.parametrize("stopping", [dict(monitor="val_accuracy", patience=100), dict(monitor="loss", patience=100),
                                      dict(monitor="val_loss", min_delta=0.05, patience=100)])
def test_early_stopping_by_any_rule_resumes_to_the_uninterrupted_weights(data, tmp_path, stopping):
    """The checkpoint keeps EarlyStopping's own best epoch and weights (it had only the loop's
    lowest-val_loss weights, which a resumed EarlyStopping with another monitor or a min_delta took
    for its best epoch's)."""
    from deltaprop.callbacks import Callback, Checkpoint, EarlyStopping
    X, y = data
    kw = dict(batch_size=7, optimizer="adam", learning_rate=0.5, loss="cross_entropy", seed=3, verbose=0,
              validation_fraction=0.25)

    class StopAt(Callback):
        def on_epoch_end(self, state, epoch, logs):
            state.interrupt = state.interrupt or epoch == 7
    reference = new_net()
    whole = reference.fit(X, y, epochs=12, callbacks=[EarlyStopping(**stopping)], **kw)
    ck = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted):
        new_net().fit(X, y, epochs=12, callbacks=[EarlyStopping(**stopping), Checkpoint(ck), StopAt()],
                      catch_interrupt=True, **kw)
    resumed, checkpoint = load_checkpoint(ck)
    again = resumed.fit(X, y, epochs=12, resume=checkpoint, callbacks=[EarlyStopping(**stopping)], **kw)
    assert again.best_epoch == whole.best_epoch
    _same_weights(resumed, reference)


def test_callbacks_after_early_stopping_see_the_best_weights_and_checkpoints_the_last(data, tmp_path):
    from deltaprop.callbacks import Callback, Checkpoint, EarlyStopping
    X, y = data
    seen = {}

    class Keep(Callback):
        def on_epoch_end(self, state, epoch, logs):
            seen[epoch] = [p.copy() for p in state.net.weights]

        def on_train_end(self, state):
            seen["end"] = [p.copy() for p in state.net.weights]
    net = new_net()
    history = net.fit(X, y, epochs=8, batch_size=7, optimizer="adam", learning_rate=0.5, loss="cross_entropy", seed=3,
                      verbose=0, validation_fraction=0.25,
                      callbacks=[EarlyStopping(patience=100), Keep(), Checkpoint(tmp_path / "ck.npz")])
    assert history.best_epoch == 4  # val_loss 1.34 0.86 0.56 0.41 0.93 ...
    for a, b, c in zip(seen["end"], seen[4], net.weights):
        np.testing.assert_array_equal(a, b)  # a later callback sees the best epoch's, as fit returns them
        np.testing.assert_array_equal(c, b)
    for a, b in zip(load_checkpoint(tmp_path / "ck.npz")[0].weights, seen[8]):
        np.testing.assert_array_equal(a, b)  # the checkpoint: the weights training stopped with


def test_resuming_mid_epoch_needs_the_epoch_finished(data, tmp_path):
    X, y = data
    ck = tmp_path / "ck.npz"
    from deltaprop.callbacks import Checkpoint
    with pytest.raises(TrainingInterrupted):
        fit(new_net(), X, y, optimizer=ctrl_c_at_step(dp.Adam(0.02), 20), engine="numpy", catch_interrupt=True,
            callbacks=[Checkpoint(ck)], **{k: v for k, v in SETTINGS.items() if k != "learning_rate"})
    resumed, checkpoint = load_checkpoint(ck)
    kw = {k: v for k, v in SETTINGS.items() if k not in ("learning_rate", "epochs")}
    with pytest.raises(dp.ConfigError, match=r"^resume: the checkpoint is 8 steps into epoch 2; expected epochs=2 or more "
                                             r"to finish it; received 1$"):
        fit(resumed, X, y, optimizer=dp.Adam(0.02), resume=checkpoint, epochs=1, **kw)


class _CopyAt:
    """A callback that keeps a copy of the checkpoint file as it stands after ``epoch``'s end."""

    def __init__(self, path, epoch, copy):
        self.path, self.epoch, self.copy = path, epoch, copy

    def on_train_begin(self, state):
        pass

    def on_epoch_end(self, state, epoch, logs):
        if epoch == self.epoch:
            self.copy.write_bytes(self.path.read_bytes())

    def on_train_end(self, state):
        pass


@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy"])
def test_a_checkpoint_listed_before_early_stopping_resumes_with_the_best_weights(data, tmp_path, monitor):
    """Checkpoint(every=1) before EarlyStopping: the file of the best epoch is written before
    EarlyStopping has seen that epoch; resumed from it, the best weights are the network's own."""
    from deltaprop.callbacks import Checkpoint, EarlyStopping
    X, y = data
    kw = dict(epochs=8, batch_size=7, optimizer="adam", learning_rate=0.5, loss="cross_entropy", seed=3, verbose=0,
              validation_fraction=0.25)
    reference = new_net()
    whole = reference.fit(X, y, callbacks=[EarlyStopping(monitor=monitor, patience=100)], **kw)
    best = whole.best_epoch
    ck, at_best = tmp_path / "ck.npz", tmp_path / "best.npz"
    new_net().fit(X, y, callbacks=[Checkpoint(ck), _CopyAt(ck, best, at_best), EarlyStopping(monitor=monitor, patience=100)],
                  **kw)
    resumed, checkpoint = load_checkpoint(at_best)
    again = resumed.fit(X, y, resume=checkpoint, callbacks=[EarlyStopping(monitor=monitor, patience=100)], **kw)
    assert again.best_epoch == best and best < 8
    _same_weights(resumed, reference)


def test_a_checkpoint_written_after_a_freeze_in_the_same_epoch_resumes_exactly(data, tmp_path):
    from deltaprop.callbacks import Callback, Checkpoint

    class FreezeAt3(Callback):
        def on_epoch_end(self, state, epoch, logs):
            if epoch == 3:
                state.net.freeze(1)
    X, y = data
    kw = dict(epochs=6, batch_size=8, optimizer="adam", learning_rate=0.02, loss="cross_entropy", seed=4, verbose=0)
    reference = new_net()
    reference.fit(X, y, callbacks=[FreezeAt3()], **kw)
    ck, at3 = tmp_path / "ck.npz", tmp_path / "at3.npz"
    new_net().fit(X, y, callbacks=[FreezeAt3(), Checkpoint(ck), _CopyAt(ck, 3, at3)], **kw)
    resumed, checkpoint = load_checkpoint(at3)  # (its optimizer state was the unfrozen network's: refused to load)
    resumed.fit(X, y, resume=checkpoint, **kw)
    _same_weights(resumed, reference)


def test_resuming_with_fewer_epochs_than_trained_is_refused(data, tmp_path):
    from deltaprop.callbacks import Checkpoint
    X, y = data
    kw = dict(batch_size=8, optimizer="adam", learning_rate=0.02, loss="cross_entropy", seed=4, verbose=0)
    new_net().fit(X, y, epochs=6, callbacks=[Checkpoint(tmp_path / "ck.npz")], **kw)
    resumed, checkpoint = load_checkpoint(tmp_path / "ck.npz")
    with pytest.raises(dp.ConfigError, match=r"^resume: the checkpoint's run has trained 6 epochs; expected epochs=6 or "
                                             r"more; received 3$"):
        resumed.fit(X, y, epochs=3, resume=checkpoint, **kw)
    assert resumed.fit(X, y, epochs=6, resume=checkpoint, **kw).epoch[-1] == 6  # finished: nothing left


@pytest.mark.parametrize("lr,first", [(0.02, 6), (0.1, 1), (0.1, 3), (0.1, 4), (0.05, 2)])
def test_a_resumed_run_resumed_again_keeps_early_stoppings_best(data, tmp_path, lr, first):
    """Resume from epoch `first`'s file (Checkpoint before EarlyStopping), write checkpoints
    again, resume from the next epoch's file: the weights of one uninterrupted run (the first
    resume did not put the best weights it took into its own checkpoints)."""
    from deltaprop.callbacks import Checkpoint, EarlyStopping
    X, y = data
    kw = dict(epochs=14, batch_size=8, optimizer="adam", learning_rate=lr, loss="cross_entropy", seed=3, verbose=0,
              validation_fraction=0.25, engine="numpy")
    stop = lambda: EarlyStopping(monitor="val_accuracy", patience=3)  # noqa: E731
    reference = new_net()
    reference.fit(X, y, callbacks=[stop()], **kw)
    ck, one, two = tmp_path / "ck.npz", tmp_path / "one.npz", tmp_path / "two.npz"
    new_net().fit(X, y, callbacks=[Checkpoint(ck), _CopyAt(ck, first, one), stop()], **kw)
    net, checkpoint = load_checkpoint(one)
    net.fit(X, y, resume=checkpoint, callbacks=[Checkpoint(ck), _CopyAt(ck, first + 1, two), stop()], **kw)
    if two.exists():  # (else the resumed run stopped where the uninterrupted one did, at once)
        net, checkpoint = load_checkpoint(two)
        net.fit(X, y, resume=checkpoint, callbacks=[stop()], **kw)
    _same_weights(net, reference)


def test_resuming_a_run_that_stopped_early_trains_nothing(data, tmp_path):
    from deltaprop.callbacks import Callback, Checkpoint, EarlyStopping
    X, y = data
    kw = dict(epochs=40, batch_size=8, optimizer="adam", learning_rate=0.5, loss="cross_entropy", seed=3, verbose=0,
              validation_fraction=0.25)
    first = new_net()
    history = first.fit(X, y, callbacks=[EarlyStopping(patience=2), Checkpoint(tmp_path / "ck.npz")], **kw)
    assert history.stopped_early and history.epoch[-1] < 40
    net, checkpoint = load_checkpoint(tmp_path / "ck.npz")
    again = net.fit(X, y, resume=checkpoint, callbacks=[EarlyStopping(patience=2)], **kw)
    assert again.epoch == history.epoch and again.best_epoch == history.best_epoch
    _same_weights(net, first)

    class FreezeAtEnd(Callback):
        def on_train_end(self, state):
            state.net.freeze(1)
    new_net().fit(X, y, callbacks=[FreezeAtEnd(), Checkpoint(tmp_path / "fe.npz")], **{**kw, "epochs": 2})
    load_checkpoint(tmp_path / "fe.npz")  # its optimizer state fits the frozen network (it could not be loaded)
