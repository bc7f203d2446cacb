"""The run settings that may change while a run goes on, from a step on.

A timeline event's ``set = {run = ..., key = value}`` may change any of `SETTINGS` (the schema's
`Change` has exactly these keys; a test checks); the control panel's sliders change the ones
marked `panel`, and each such edit becomes such a timeline event (sandbox.scenario.edit), so a
saved session replays exactly. Everything else about a run needs a restart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """A run key that a timeline change may set.

    `label`: how the control panel names its slider; `panel`: whether the panel has one;
    `network_only`: it applies to network landscapes only (minibatches).
    """

    key: str
    label: str
    panel: bool = False
    network_only: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("lr", "learning rate", panel=True),
    Setting("momentum", "momentum", panel=True),
    Setting("noise", "gradient noise", panel=True),
    Setting("weight_decay", "weight decay"),
    Setting("clip", "gradient clip"),
    Setting("batch_size", "batch size", panel=True, network_only=True),
    Setting("eps", "eps"),
)
KEYS = tuple(setting.key for setting in SETTINGS)
# What the control panel changes without a restart (each a timeline change at the shown step).
PANEL_KEYS = tuple(setting.key for setting in SETTINGS if setting.panel)
NETWORK_ONLY = tuple(setting.key for setting in SETTINGS if setting.network_only)
LABELS = {setting.key: setting.label for setting in SETTINGS}


def timeline_sentence() -> str:
    """The docs' sentence naming what a timeline change may set (docs/scenarios.md)."""
    keys = [f"`{key}`" for key in KEYS]
    return f"`set` may change {', '.join(keys)}."
