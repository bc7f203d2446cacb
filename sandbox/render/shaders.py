"""Loads GLSL programs from `shaders/`: one program per file, a tiny `#include`, stage defines.

A program file starts with ``#version 330 core`` and holds every stage, each inside
``#ifdef VERTEX_SHADER`` / ``FRAGMENT_SHADER`` (/ ``GEOMETRY_SHADER``). Files without a
``#version`` line are includes: ``#include "common.glsl"`` pastes one in (once per stage).

The loader keeps, for every line it hands the driver, the file and line it came from, so the
driver's ``0:57(5): error`` is reported as ``heightfield.glsl:12``; `ShaderError` names both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import moderngl

from sandbox.resources import data_dir

STAGES = {
    "vertex_shader": "VERTEX_SHADER",
    "geometry_shader": "GEOMETRY_SHADER",
    "fragment_shader": "FRAGMENT_SHADER",
}
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
# Driver log formats: Mesa "0:12(5): error: ...", NVIDIA "0(12) : error C0000: ...",
# Intel/AMD/Apple "ERROR: 0:12: ...".
_LOG_LINE = (
    re.compile(r"^(?P<file>\d+):(?P<line>\d+)\((?P<col>\d+)\):\s*(?P<msg>.*)$"),
    re.compile(r"^(?P<file>\d+)\((?P<line>\d+)\)\s*:\s*(?P<msg>.*)$"),
    re.compile(r"^(?:ERROR|WARNING):\s*(?P<file>\d+):(?P<line>\d+):\s*(?P<msg>.*)$"),
)


class ShaderError(RuntimeError):
    """A shader failed to preprocess, compile or link; the message starts with FILE:LINE."""

    def __init__(self, message: str, locations: tuple[tuple[str, int], ...] = ()):
        super().__init__(message)
        self.locations = locations  # (file name, line) of each reported error


@dataclass(frozen=True)
class StageSource:
    """One stage's preprocessed text and, for each of its lines, the (file, line) it came from."""

    text: str
    origins: tuple[tuple[str, int], ...]

    def origin(self, line: int) -> tuple[str, int]:
        """Where 1-based line `line` of the text came from."""
        return self.origins[min(max(line, 1), len(self.origins)) - 1]


def shader_dir() -> Path:
    return data_dir("shaders")


def program_names(directory: Path | None = None) -> list[str]:
    """Names (file stems) of the program files: the .glsl files that start with #version."""
    directory = directory or shader_dir()
    return sorted(
        path.stem
        for path in directory.glob("*.glsl")
        if path.read_text(encoding="utf-8").startswith("#version")
    )


def preprocess(name: str, stage: str, defines: dict[str, object], directory: Path) -> StageSource:
    """The text of one stage of program `name`, with includes expanded.

    No ``#line`` directives: Mesa attributes some errors right after ``#line N FILE`` to the
    previous file, so lines are mapped back through a table instead.
    """
    main = directory / f"{name}.glsl"
    lines = main.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("#version"):
        raise ShaderError(
            f"{main.name}:1: a program file must start with #version", ((main.name, 1),)
        )
    header = [lines[0], f"#define {STAGES[stage]}"]
    header += [f"#define {key} {value}" for key, value in defines.items()]
    out = [(text, (main.name, 1)) for text in header]
    out += _expand(main.name, lines[1:], 2, directory, {main.name})
    return StageSource("\n".join(text for text, _ in out) + "\n", tuple(o for _, o in out))


def _expand(
    file: str, lines: list[str], first_line: int, directory: Path, seen: set[str]
) -> list[tuple[str, tuple[str, int]]]:
    """(text, (file, line)) for each line, includes pasted in place (each file once)."""
    out = []
    for number, line in enumerate(lines, start=first_line):
        match = _INCLUDE.match(line)
        if not match:
            out.append((line, (file, number)))
            continue
        included = match.group(1)
        if included in seen:
            out.append(("", (file, number)))
            continue
        path = directory / included
        if not path.is_file():
            raise ShaderError(f"{file}:{number}: include not found: {included}", ((file, number),))
        seen.add(included)
        text = path.read_text(encoding="utf-8").splitlines()
        out += _expand(included, text, 1, directory, seen)
    return out


def load_program(
    ctx: moderngl.Context,
    name: str,
    defines: dict[str, object] | None = None,
    directory: Path | None = None,
) -> moderngl.Program:
    """Compile and link `shaders/<name>.glsl`; raises `ShaderError` naming file and line."""
    directory = directory or shader_dir()
    # stages are found after includes are pasted in: a stage may live in an include
    # (fullscreen.glsl holds the vertex stage of blit and fxaa)
    text = preprocess(name, "vertex_shader", defines or {}, directory).text
    stages = [stage for stage, macro in STAGES.items() if f"#ifdef {macro}" in text]
    sources = {stage: preprocess(name, stage, defines or {}, directory) for stage in stages}
    try:
        return ctx.program(**{stage: source.text for stage, source in sources.items()})
    except moderngl.Error as error:
        raise _shader_error(name, str(error), sources) from None


def _shader_error(name: str, log: str, sources: dict[str, StageSource]) -> ShaderError:
    """Rewrite a moderngl compile/link log so each error reads FILE:LINE: stage: message."""
    stage = None
    messages: list[str] = []
    locations: list[tuple[str, int]] = []
    for raw in log.splitlines():
        line = raw.strip()
        if line in sources:
            stage = line
            continue
        for pattern in _LOG_LINE:
            match = pattern.match(line)
            if match and stage is not None:
                file, number = sources[stage].origin(int(match.group("line")))
                locations.append((file, number))
                messages.append(f"{file}:{number}: {stage}: {match.group('msg')}")
                break
    if not messages:  # a link error carries no line: name the program and keep the log
        details = " ".join(line.strip() for line in log.splitlines() if line.strip())
        return ShaderError(f"{name}.glsl: {details}", ((f"{name}.glsl", 0),))
    return ShaderError("\n".join(messages), tuple(locations))
