"""Looking inside a trained KAN: pruning, symbolic fits, the snapped network and its formula.

Modules: ``prune`` (edges and nodes below a threshold), ``library`` (candidate functions), ``fit``
(affine fits a f(b x + c) + d), ``symbolic_net`` (a snapped network that trains), ``formula`` (one
sympy expression), ``plots``, ``retrain`` (the training loop on a run's loss), ``workflow`` (a
run end to end) and ``cli`` (``kanpde-interpret``). Edge activations and the sparsity regulariser
live in kanpde.nets (training uses them); runs are read with ``kanpde.load``. Nothing is imported
here, so that the command's help does not pull in scipy and sympy.
"""
