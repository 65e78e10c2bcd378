"""Looking inside a trained KAN: edge activations and plots, sparsity and pruning, symbolic formulas.

Modules: ``edges`` (per-edge activations and their L1 norms), ``sparsity`` (the L1 + entropy
regulariser), ``prune`` (edges and nodes below a threshold), ``library`` (candidate functions),
``fit`` (affine fits a f(b x + c) + d), ``symbolic_net`` (a snapped network that trains),
``formula`` (one sympy expression), ``plots``, ``load`` and ``workflow`` (a run directory end to
end) and ``cli`` (``kanpde-interpret``). Nothing is imported here, so that the trainer can use
``sparsity`` without pulling in scipy and sympy.
"""
