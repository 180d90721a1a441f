"""Packaging promises: what `import deltaprop` pulls in, the public API, the README's commands."""
import re
import subprocess
import sys
from pathlib import Path

import deltaprop as dp

ROOT = Path(__file__).resolve().parents[1]


def test_import_needs_numpy_only():
    code = ("import sys, deltaprop; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'sklearn', 'numba', 'pandas', 'scipy', 'torch')]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_m_deltaprop_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "deltaprop", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout and "train" in out.stdout and "explain" in out.stdout


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```(?:sh|bash|shell)?\n(.*?)```", readme, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 2 and "deltaprop demo" in lines[0] and "pytest" in lines[1]
    assert lines[1] in (ROOT / ".ci" / "run").read_text()


def test_public_api_names():
    for name in ("Network", "Model", "gradcheck", "SGD", "Momentum", "Nesterov", "Adam", "EarlyStopping",
                 "Checkpoint", "save", "load", "load_csv", "load_iris", "ConfigError", "ShapeError", "DataError"):
        assert hasattr(dp, name), name
    assert issubclass(dp.ConfigError, ValueError) and issubclass(dp.ShapeError, dp.DeltapropError)
