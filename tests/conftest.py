"""GL fixtures: the one headless OpenGL context of the test session, checked around each test.

Only tests that ask for `ctx` (or a fixture built on it) touch GL. Set SANDBOX_SKIP_GL=1 to skip
them on a machine without EGL; CI renders on Mesa llvmpipe and must not skip.
"""

from __future__ import annotations

import os

import pytest

_SESSION: dict[str, object] = {}


def _session_context():
    """Create the session's context once; remember why if it cannot be made."""
    if "ctx" not in _SESSION and "error" not in _SESSION:
        from sandbox.render.context import NoOpenGL, headless_context

        try:
            _SESSION["ctx"] = headless_context()
        except NoOpenGL as error:
            _SESSION["error"] = str(error)
    return _SESSION.get("ctx")


def pytest_report_header(config):
    ctx = _session_context()
    if ctx is None:
        return f"GL: unavailable ({_SESSION['error']})"
    info = ctx.info
    return f"GL: {info['GL_RENDERER']} | {info['GL_VERSION']}"


@pytest.fixture(scope="session")
def gl_context():
    """The session's moderngl context (EGL standalone)."""
    ctx = _session_context()
    if ctx is None:
        if os.environ.get("SANDBOX_SKIP_GL") == "1":
            pytest.skip(_SESSION["error"])
        pytest.fail(_SESSION["error"], pytrace=False)
    yield ctx


@pytest.fixture
def ctx(gl_context):
    """The session context, with no GL error left before or after the test."""
    assert gl_context.error == "GL_NO_ERROR", "a previous test left a GL error behind"
    yield gl_context
    assert gl_context.error == "GL_NO_ERROR"
