"""What the caption tests share: the caption shown at a step must quote the numbers asserted."""

from __future__ import annotations


def says(scenario, step: int, *texts: str) -> None:
    """The caption shown at `step` quotes each of `texts`: the numbers the test asserts there."""
    (caption,) = (event.caption for event in scenario.timeline if event.at == step)
    for text in texts:
        assert text in caption, (step, text, caption)
