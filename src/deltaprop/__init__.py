"""deltaprop: the backpropagation algorithm, from scratch on NumPy, in the tutorials' notation.

    import deltaprop as dp
    net = dp.Network([4, 5, 3], activation="sigmoid", seed=0)
    grads = net.gradients(X, Y, loss="squared_error")     # [(dW, db), ...]
"""
__version__ = "0.1.0"  # before the imports: io and cli read it

from .activations import ACTIVATIONS, Activation, get_activation
from .callbacks import Callback, Checkpoint, EarlyStopping
from .data import Dataset, Scaler, load_csv, load_iris
from .errors import ConfigError, DataError, DeltapropError, ModelFileError, ShapeError, TrainingDiverged
from .gradcheck import gradcheck
from .layers import INITIALIZERS, Dense
from .losses import LOSSES, Loss, get_loss
from .io import load, save
from .model import Model
from .network import Network
from .optimizers import OPTIMIZERS, SGD, Adam, Momentum, Nesterov, Optimizer, get_optimizer


__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "LOSSES", "Loss", "get_loss",
    "INITIALIZERS", "Dense", "Network", "Model", "gradcheck", "save", "load",
    "Callback", "EarlyStopping", "Checkpoint", "Dataset", "Scaler", "load_csv", "load_iris",
    "OPTIMIZERS", "Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "get_optimizer",
    "DeltapropError", "ConfigError", "ShapeError", "DataError", "ModelFileError", "TrainingDiverged",
    "__version__",
]
