"""File-safe names for runs (the contract: lower case, anything not alphanumeric becomes `_`)."""

from __future__ import annotations


def file_safe(name: str) -> str:
    """'SGD, noise 0.3' -> 'sgd__noise_0_3'."""
    return "".join(c if c.isalnum() else "_" for c in name.lower())
