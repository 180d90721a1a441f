"""Atomic writes, tested by killing a writer: a crash mid-save leaves the old file intact.

``io.atomic_write`` writes a temporary file ``.NAME.XXXX.tmp`` in the target's folder, flushes it
to disk and renames it over the target. A process killed with SIGKILL cannot clean up, so its
temporary file may remain; it is never read by deltaprop (names start with a dot and end in .tmp)
and the next save uses a fresh name.
"""
import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import io
from deltaprop.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _writer(code, tmp_path):
    """Start a Python process running ``code``; return it once it prints READY (it is mid-write)."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "READY", proc.stderr.read()
    return proc


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def good_model(tmp_path):
    net = dp.Network([4, 3, 2], seed=0)
    io.save(net, tmp_path / "model.npz")
    return net, (tmp_path / "model.npz").read_bytes()


def _check_old_file_survives(tmp_path, net, before):
    assert (tmp_path / "model.npz").read_bytes() == before
    back = io.load(tmp_path / "model.npz")
    for a, b in zip(back.weights, net.weights):
        np.testing.assert_array_equal(a, b)
    leftovers = [n for n in os.listdir(tmp_path) if n != "model.npz"]
    assert all(n.startswith(".model.npz.") and n.endswith(".tmp") for n in leftovers), leftovers
    return leftovers


def test_killed_mid_write_leaves_the_old_model(tmp_path, good_model):
    net, before = good_model
    proc = _writer("""
        import sys, time
        from deltaprop import io
        def slow(fh):
            fh.write(b"PK half a new model file " * 1000)
            fh.flush()
            print("READY", flush=True)
            time.sleep(60)
            fh.write(b"never written")
        io.atomic_write("model.npz", slow)
    """, tmp_path)
    _kill(proc)
    leftovers = _check_old_file_survives(tmp_path, net, before)
    assert len(leftovers) == 1  # the half-written temporary file: SIGKILL allows no cleanup
    # the leftover breaks nothing: the next save replaces the model and uses a fresh temporary name
    io.save(dp.Network([4, 5, 2], seed=1), tmp_path / "model.npz")
    assert io.load(tmp_path / "model.npz").sizes == [4, 5, 2]
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", *leftovers])


def test_killed_between_the_write_and_the_rename_leaves_the_old_model(tmp_path, good_model):
    """A real io.save of a large network, killed after every byte is written but before the
    rename (the writer blocks in fsync): the target is still the old file."""
    net, before = good_model
    proc = _writer("""
        import os, time
        import deltaprop as dp
        from deltaprop import io
        net = dp.Network([300, 300, 300, 10], seed=2)
        def stuck(fd):
            print("READY", flush=True)
            time.sleep(60)
        os.fsync = stuck
        io.save(net, "model.npz")
    """, tmp_path)
    _kill(proc)
    leftovers = _check_old_file_survives(tmp_path, net, before)
    assert len(leftovers) == 1 and os.path.getsize(tmp_path / leftovers[0]) > 300 * 300 * 8


def test_a_failing_writer_cleans_up(tmp_path):
    (tmp_path / "keep.json").write_text("{}")
    with pytest.raises(ZeroDivisionError):
        io.atomic_write(tmp_path / "keep.json", lambda fh: (fh.write(b"{\"half\""), 1 / 0))
    assert os.listdir(tmp_path) == ["keep.json"] and (tmp_path / "keep.json").read_text() == "{}"


def test_every_cli_output_goes_through_atomic_write(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    written, original = [], io.atomic_write
    monkeypatch.setattr(io, "atomic_write", lambda path, write: (written.append(os.path.basename(os.fspath(path))),
                                                                  original(path, write))[1])
    monkeypatch.chdir(tmp_path)
    iris = dp.load_iris()
    (tmp_path / "iris.csv").write_text("".join(",".join(map(str, x)) + f",{c}\n" for x, c in zip(iris.X.tolist(), iris.y)))
    assert main(["train", "iris.csv", "--epochs", "2", "-q", "--out", "m.npz", "--metrics-json", "h.json", "--plot", "h.png"]) == 0
    assert main(["evaluate", "m.npz", "iris.csv", "--json", "e.json", "--plot", "cm.svg"]) == 0
    assert main(["predict", "m.npz", "iris.csv", "--out", "p.csv"]) == 0
    assert main(["demo", "--epochs", "2", "-q", "--plot", "d.png", "--metrics-json", "d.json"]) == 0
    capsys.readouterr()
    # m.ckpt.npz: the checkpoint that guards the run, removed once the model is saved;
    # d.png twice: drawn, then marked as the demo's own plot
    assert sorted(written) == sorted(["m.ckpt.npz", "m.npz", "h.json", "h.png", "e.json", "cm.svg", "p.csv",
                                      "d.png", "d.png", "d.json"])
    assert not (tmp_path / "m.ckpt.npz").exists()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_checkpoints_go_through_atomic_write(tmp_path, monkeypatch):
    written, original = [], io.atomic_write
    monkeypatch.setattr(io, "atomic_write", lambda path, write: (written.append(os.fspath(path)), original(path, write))[1])
    net = dp.Network([4, 3], output_activation="softmax", seed=0)
    iris = dp.load_iris()
    net.fit(iris.X, np.unique(iris.y, return_inverse=True)[1], epochs=2, verbose=0,
            callbacks=[dp.Checkpoint(tmp_path / "ck.npz", every=1)])
    assert written and all(p.endswith("ck.npz") for p in written)


def test_explain_outputs_are_atomic_and_never_replace_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lee.md").write_text("precious")
    code = main(["explain", "--example", "lee", "--format", "markdown", "--out", "lee.md"])
    capsys.readouterr()
    assert code == 2 and (tmp_path / "lee.md").read_text() == "precious"


# ---- what is replaced, and how ----------------------------------------------------------------
def test_a_symlink_stays_a_link_and_its_file_is_replaced(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    io.atomic_write_text(tmp_path / "link.json", "new")
    assert os.readlink(tmp_path / "link.json") == "real.json" and (tmp_path / "real.json").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]


def test_a_fifo_or_folder_is_refused_and_left_as_it_was(tmp_path):
    fifo, folder = tmp_path / "fifo", tmp_path / "folder"
    os.mkfifo(fifo)
    folder.mkdir()
    for path in (fifo, folder):
        with pytest.raises(dp.ConfigError, match="expected a regular file"):
            io.atomic_write_text(path, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and folder.is_dir() and not list(folder.iterdir())
    assert sorted(os.listdir(tmp_path)) == ["fifo", "folder"]  # no temporary file left behind


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_0666_less_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        io.atomic_write_text(tmp_path / "new.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600])
def test_a_replaced_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "keep.json"
    path.write_text("old")
    path.chmod(mode)
    io.atomic_write_text(path, "new")
    assert stat.S_IMODE(os.stat(path).st_mode) == mode and path.read_text() == "new"


def test_an_error_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    def denied(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", os.path.join(dir, prefix + "x1y2z3" + suffix))
    monkeypatch.setattr(io.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as info:
        io.atomic_write_text(tmp_path / "c.json", "{}")
    assert info.value.filename == str(tmp_path / "c.json")


def test_a_failed_rename_names_the_users_path_and_cleans_up(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src, dst)
    monkeypatch.setattr(io.os, "replace", refuse)
    with pytest.raises(PermissionError) as info:
        io.atomic_write_text(tmp_path / "c.json", "{}")
    assert info.value.filename == str(tmp_path / "c.json") and os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_reported_with_the_users_path(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(PermissionError) as info:
        io.atomic_write_text(folder / "c.json", "{}")
    assert info.value.filename == str(folder / "c.json")
