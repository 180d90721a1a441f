"""Many small runs at once: the Iris demo for ten seeds, one by one versus in one vectorized pass.

    python bench/bench_many.py [--seeds 10] [--repeat 3] [--no-numpy]

``deltaprop.ensemble.run_seeds(recipe, seeds)`` trains the K networks in one call of the compiled
kernel (every epoch of every network), and each result equals the recipe's own run (checked here).
Compared with K calls of the recipe (engine auto: compiled) and K calls on the NumPy engine; and,
as a user of the command line meets it, ``deltaprop demo --seeds 0-9`` (one process) against ten
``deltaprop demo --seed k`` (ten processes).
"""
import argparse
import subprocess
import sys
import time

import numpy as np

import _common as C
from deltaprop import ensemble, recipes


def one_by_one(recipe, seeds, engine=None):
    fn = recipes.RECIPES[recipe]
    if engine is None:
        return [fn(s) for s in seeds]
    out = []
    for s in seeds:
        run = recipes.RUNS[recipe](s)
        run.network.fit(*run.data, epochs=300, verbose=0, engine=engine, **run.settings)
        out.append(run)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="K Iris runs at once")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-numpy", action="store_true", help="skip the (slow) NumPy-engine runs")
    args = p.parse_args(argv)
    seeds = list(range(args.seeds))
    print(C.header(f"Many small runs: the Iris recipes for seeds 0-{seeds[-1]}"))
    rows = []
    for recipe in ("faithful", "default"):
        together, alone = ensemble.run_seeds(recipe, seeds), one_by_one(recipe, seeds)
        # the same numbers (the side-by-side sigmoid's exp may differ from libm's in the last bit)
        assert all(np.allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-12, atol=1e-12)
                   and a.val_accuracy == b.val_accuracy for a, b in zip(together, alone)), \
            "run_seeds must give each recipe run's numbers"
        secs = C.interleaved({"together": lambda: ensemble.run_seeds(recipe, seeds),
                              "alone": lambda: one_by_one(recipe, seeds)}, repeat=args.repeat)
        t_all, t_one = C.median(secs["together"]), C.median(secs["alone"])
        row = [recipe, f"{t_all * 1e3:.0f} ms", f"{t_one * 1e3:.0f} ms", f"{t_one / t_all:.1f}x"]
        if args.no_numpy:
            row += ["skipped (--no-numpy)", ""]
        else:
            t0 = time.perf_counter()
            one_by_one(recipe, seeds, engine="numpy")
            t_np = time.perf_counter() - t0
            row += [f"{t_np:.2f} s", f"{t_np / t_all:.0f}x"]
        rows.append(row)
        print(f"- {recipe}: validation accuracy per seed {[round(r.val_accuracy, 2) for r in together]}")
    print()
    print(C.table([f"recipe ({len(seeds)} seeds, 300 epochs)", "run_seeds (one pass)", f"{len(seeds)} recipe calls (compiled)",
                   "saving", f"{len(seeds)} runs, NumPy engine", "saving"], rows))
    print("\nTimes include building each seed's data and network; medians of", args.repeat, "(NumPy engine: one run).")
    cli(seeds, args.repeat)


def cli(seeds, repeat):
    """The command line: one `demo --seeds` process against one `demo --seed k` process a seed."""
    def run(*extra):
        done = subprocess.run([sys.executable, "-m", "deltaprop", "demo", "--no-plot", "-q", *extra],
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"deltaprop demo {' '.join(extra)} failed: {done.stderr.strip()}")
    secs = C.interleaved({"together": lambda: run("--seeds", f"{seeds[0]}-{seeds[-1]}"),
                          "alone": lambda: [run("--seed", str(s)) for s in seeds]}, repeat=repeat)
    t_all, t_one = C.median(secs["together"]), C.median(secs["alone"])
    print()
    print(C.table(["command line (process wall time)", f"demo --seeds {seeds[0]}-{seeds[-1]}",
                   f"{len(seeds)} x demo --seed k", "saving"],
                  [["default recipe", f"{t_all:.2f} s", f"{t_one:.2f} s", f"{t_one / t_all:.1f}x"]]))


if __name__ == "__main__":
    main()
