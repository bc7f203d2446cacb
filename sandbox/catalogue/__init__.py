"""The catalogues: one list per concept, that the rest of the sandbox reads.

Torch-free and free of pygame and moderngl (a test imports it in a fresh interpreter and checks),
so the scenario layer and the app read it without loading the numerics:

- `surfaces`: the analytic surfaces, with their parameters (defaults, allowed ranges), default
  view and start; their functions live in `sandbox.landscape.analytic`, one per entry;
- `optimizers`: the optimisers, the run keys each one reads and their defaults; the torch.optim
  object each one becomes is built in `sandbox.optim.registry`;
- `networks`: datasets, losses, activations and initialisations by name, with the shape facts
  the scenario checks need (input and target widths, classes, which loss fits which data);
- `settings`: the run settings a timeline change may set while a run goes on, and which of them
  the control panel's sliders change.

Two more catalogues live beside what reads them: `sandbox.instruments` (the timeline window's
plots) and `sandbox.app.keys` (the window's keys, the help overlay and the README's key table).
Adding a surface or an optimiser is one entry here plus its implementation; tests/test_catalogue.py
checks that every list agrees.
"""
