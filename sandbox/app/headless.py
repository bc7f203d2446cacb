"""Frames for headless users: the same message stream and view model as the window, no window.

`scene_states` yields one SceneState per frame at evenly spaced steps; `sandbox replay --frames`
and `--video` hand them to `sandbox.render.frames`, drawing the messages the replay kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sandbox.app.model import ViewModel
from sandbox.app.worker import Message, scenario_stream
from sandbox.render.scene import SceneState
from sandbox.scenario.schema import Scenario


def frame_steps(total_steps: int, count: int) -> list[int]:
    """`count` evenly spaced steps from 0 to `total_steps` (fewer if there are fewer steps)."""
    count = max(2, min(count, total_steps + 1))
    return sorted({round(i * total_steps / (count - 1)) for i in range(count)})


def scene_states(
    scenario: Scenario, frame_count: int, messages: Iterable[Message] | None = None
) -> Iterator[SceneState]:
    """The frames of a scenario, each drawn once every run has reached its step.

    `messages` is the scenario's stream when it was already computed (`replay(...,
    keep_messages=True)`); without it the stream is computed here.
    """
    model = ViewModel(scenario)
    targets = frame_steps(scenario.steps, frame_count)
    next_frame = 0
    for message in scenario_stream(scenario) if messages is None else messages:
        model.apply(message)
        while next_frame < len(targets) and model.surface is not None:
            if model.available_step() < targets[next_frame]:
                break
            yield model.scene(targets[next_frame])
            next_frame += 1
