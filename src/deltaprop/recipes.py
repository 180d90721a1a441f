"""The seed's project: a 4-5-3 sigmoid BP network that classifies Iris (seed 04, 下篇).

Two recipes:

- :func:`faithful` reproduces the seed program exactly (same random numbers, same arithmetic), so
  a learner can put deltaprop's numbers next to the article's.
- :func:`default` trains the same network on the same data with the seed's pitfalls fixed: the
  scaler is fitted on the training rows only (the seed scales with all 150 rows, so validation data
  leaks into training), a Glorot initializer (the seed draws every weight in [0, 1), so all hidden
  neurons start alike and saturate), a fixed seed for every random choice, a stratified split (the
  seed's 20 validation rows can miss a class), and the rows reshuffled every epoch.
"""
import random
from dataclasses import dataclass

import numpy as np

from .data import Scaler, load_iris, split_indices
from .network import Network
from .optimizers import SGD

LABELS = {"Iris-setosa": 0, "Iris-versicolor": 1, "Iris-virginica": 2}  # the seed's label_dict


@dataclass
class DemoResult:
    network: Network
    history: object
    recipe: str
    seed: int
    classes: list
    scaler: Scaler

    @property
    def val_accuracy(self):
        return self.history.last("val_accuracy")


def seed_rows(seed):
    """The seed's load_dataset: min-max over all rows, then random.shuffle; returns (rows, rng)."""
    ds = load_iris()
    scaled = Scaler("minmax").fit_transform(ds.X)  # sklearn's arithmetic, fitted on all 150 rows
    rows = [list(x) + [LABELS[c]] for x, c in zip(scaled.tolist(), ds.y)]
    rnd = random.Random(seed)  # the seed's random.seed(S), without touching the global generator
    rnd.shuffle(rows)
    return rows, rnd


def seed_init(rnd, n_inputs, n_hidden, n_outputs):
    """The seed's initialize_network: random.random() for each neuron's weights, then its bias."""
    layers = []
    for n_in, n_out in ((n_inputs, n_hidden), (n_hidden, n_outputs)):
        draws = [[rnd.random() for _ in range(n_in + 1)] for _ in range(n_out)]
        layers.append((np.array([d[:-1] for d in draws]), np.array([d[-1] for d in draws])))
    return layers


@dataclass
class Run:
    """A recipe's network and data before training: ``net.fit(*data, epochs=..., **settings)`` trains it."""
    network: Network
    data: tuple
    settings: dict
    scaler: Scaler


def faithful_run(seed=1, n_hidden=5, learning_rate=0.2, n_train=130):
    """The seed program's network, rows and settings: same shuffle, same initial weights."""
    rows, rnd = seed_rows(seed)
    train, val = rows[:n_train], rows[n_train:]
    n_outputs = len({r[-1] for r in train})
    (W1, b1), (W2, b2) = seed_init(rnd, 4, n_hidden, n_outputs)
    net = Network.from_weights([W1, W2], [b1, b2], "sigmoid")
    X, y = np.array([r[:-1] for r in train]), np.array([r[-1] for r in train])
    Xv, yv = np.array([r[:-1] for r in val]), np.array([r[-1] for r in val])
    # w += 0.2 * delta * input with delta = (y - a) a (1 - a) is gradient descent on 1/2 (a - y)^2.
    # The seed logs only the validation accuracy; the training rows' loss and accuracy are logged as
    # the epoch trains them (train_metrics="running"), which costs no extra pass over the rows.
    settings = dict(batch_size=1, optimizer=SGD(learning_rate), loss="squared_error", shuffle=False,
                    validation_data=(Xv, yv), train_metrics="running")
    return Run(net, (X, y), settings, Scaler("minmax").fit(load_iris().X))


def faithful(seed=1, epochs=300, n_hidden=5, learning_rate=0.2, n_train=130, verbose=0, callbacks=()):
    """The seed program's exact run: same shuffle, same initial weights, same per-sample updates."""
    run = faithful_run(seed, n_hidden, learning_rate, n_train)
    history = run.network.fit(*run.data, epochs=epochs, verbose=verbose, callbacks=callbacks, **run.settings)
    return DemoResult(run.network, history, "faithful", seed, list(LABELS), run.scaler)


def default_run(seed=0, n_hidden=5, learning_rate=0.2, n_val=20):
    """The default recipe's network, rows and settings (see the module doc)."""
    ds = load_iris()
    codes = np.array([LABELS[c] for c in ds.y])
    train, val = split_indices(codes, n_val / len(codes), seed=seed, stratify=True)
    scaler = Scaler("minmax").fit(ds.X[train])  # fitted on the training rows only: no leak
    net = Network([4, n_hidden, 3], activation="sigmoid", init="glorot_uniform", seed=seed)
    settings = dict(batch_size=1, optimizer=SGD(learning_rate), loss="squared_error", shuffle=True, seed=seed,
                    validation_data=(scaler.transform(ds.X[val]), codes[val]), train_metrics="running")
    return Run(net, (scaler.transform(ds.X[train]), codes[train]), settings, scaler)


def default(seed=0, epochs=300, n_hidden=5, learning_rate=0.2, n_val=20, verbose=0, callbacks=()):
    """The same 4-5-3 sigmoid network and data with the seed's pitfalls fixed (see the module doc)."""
    run = default_run(seed, n_hidden, learning_rate, n_val)
    history = run.network.fit(*run.data, epochs=epochs, verbose=verbose, callbacks=callbacks, **run.settings)
    return DemoResult(run.network, history, "default", seed, list(LABELS), run.scaler)


RECIPES = {"faithful": faithful, "default": default}
RUNS = {"faithful": faithful_run, "default": default_run}
