"""deltaprop: the backpropagation algorithm, from scratch on NumPy, in the tutorials' notation.

    import deltaprop as dp
    net = dp.Network([4, 5, 3], activation="sigmoid", seed=0)
    grads = net.gradients(X, Y, loss="squared_error")     # [(dW, db), ...]
"""
from .activations import ACTIVATIONS, Activation, get_activation
from .errors import ConfigError, DataError, DeltapropError, ModelFileError, ShapeError, TrainingDiverged
from .gradcheck import gradcheck
from .layers import INITIALIZERS, Dense
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .optimizers import OPTIMIZERS, SGD, Adam, Momentum, Nesterov, Optimizer, get_optimizer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "LOSSES", "Loss", "get_loss",
    "INITIALIZERS", "Dense", "Network", "gradcheck",
    "OPTIMIZERS", "Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "get_optimizer",
    "DeltapropError", "ConfigError", "ShapeError", "DataError", "ModelFileError", "TrainingDiverged",
    "__version__",
]
