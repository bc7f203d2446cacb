"""Objects a Python caller hands to the sandbox that no scenario file can hold: a torch module
with its loss (`sandbox.show`, `sandbox.replay_model`).

A scenario names one by its handle (``landscape.model.module = "module-1"``), a plain string, so
the scenario still goes through TOML and the file loader's checks like every other (the app's
edits re-validate it that way). Validation attaches the object itself (`ModelSpec.user`), which
then travels inside the validated scenario to the background worker. Handles are weak: an object
lives as long as a scenario, or its caller, holds it. Torch-free, like the rest of the scenario
package.
"""

from __future__ import annotations

import itertools
import weakref

PREFIX = "module-"

_handed: weakref.WeakValueDictionary[str, object] = weakref.WeakValueDictionary()
_numbers = itertools.count(1)


def hand_over(thing: object) -> str:
    """A new handle for `thing`, valid in this process while something holds `thing`."""
    handle = f"{PREFIX}{next(_numbers)}"
    _handed[handle] = thing
    return handle


def handed(handle: str) -> object | None:
    """The object handed over as `handle` in this process, or None."""
    return _handed.get(handle)
