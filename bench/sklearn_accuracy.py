"""Accuracy of deltaprop's MLPClassifier next to scikit-learn's, with matching settings.

Both run in the same pipeline (StandardScaler, then the classifier) with the same settings, on
the same repeated stratified 5-fold splits; the table gives the mean test accuracy over every
fold of every repeat. Run: ``python bench/sklearn_accuracy.py [--repeats 10]``; prints Markdown
for docs/sklearn.md. Not part of the test run.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import MLPClassifier as DeltapropMLP

# The settings both classifiers get; everything else is each one's default (the same names
# and values: hidden_layer_sizes=(100,), relu, adam, alpha=1e-4, batch_size="auto", tol=1e-4).
DATASETS = {
    "Iris": (load_iris, {"max_iter": 1000}),
    "digits": (load_digits, {"max_iter": 200}),
}


def mean_accuracy(make, settings, X, y, repeats):
    """Mean test accuracy over ``repeats`` x 5 stratified folds; the seed follows the repeat."""
    scores = []
    for seed in range(repeats):
        folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=1, random_state=seed)
        model = make_pipeline(StandardScaler(), make(random_state=seed, **settings))
        scores.extend(cross_val_score(model, X, y, cv=folds, n_jobs=-1))
    return float(np.mean(scores)), float(np.std(scores))


def table(repeats):
    rows = ["| data set | samples x features, classes | settings | scikit-learn | deltaprop | difference (points) |",
            "|---|---|---|---|---|---|"]
    for name, (load, settings) in DATASETS.items():
        X, y = load(return_X_y=True)
        t0 = time.perf_counter()
        ref, ref_sd = mean_accuracy(SklearnMLP, settings, X, y, repeats)
        ours, ours_sd = mean_accuracy(DeltapropMLP, settings, X, y, repeats)
        shape = f"{X.shape[0]} x {X.shape[1]}, {len(np.unique(y))}"
        rows.append(f"| {name} | {shape} | {settings} | {100 * ref:.2f} % (sd {100 * ref_sd:.1f}) | "
                    f"{100 * ours:.2f} % (sd {100 * ours_sd:.1f}) | {100 * (ours - ref):+.2f} |")
        print(f"{name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="repeats of 5-fold CV (default 10)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"mean test accuracy over {args.repeats} x 5 stratified folds\n")
    print(table(args.repeats))


if __name__ == "__main__":
    main()
