"""GL fixtures: the one headless OpenGL context of the test session, checked around each test.

The context is made only when the selected tests use it (a run of the training tests alone never
starts Mesa's threads in a process that may fork), and the GL renderer is reported right after
collection. Set SANDBOX_SKIP_GL=1 to skip GL tests on a machine without EGL; CI renders on Mesa
llvmpipe and must not skip.
"""

from __future__ import annotations

import os

import pytest

GL_FIXTURES = {"gl_context", "ctx", "renderer"}
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


def pytest_collection_modifyitems(session, config, items):
    if not any(GL_FIXTURES & set(getattr(item, "fixturenames", ())) for item in items):
        return
    ctx = _session_context()
    line = (
        f"GL: unavailable ({_SESSION['error']})"
        if ctx is None
        else (f"GL: {ctx.info['GL_RENDERER']} | {ctx.info['GL_VERSION']}")
    )
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


@pytest.fixture(scope="session")
def gl_context():
    """The session's moderngl context (EGL standalone)."""
    ctx = _session_context()
    if ctx is None:
        if os.environ.get("SANDBOX_SKIP_GL") == "1":
            pytest.skip(_SESSION["error"])
        pytest.fail(_SESSION["error"], pytrace=False)
    return ctx


@pytest.fixture
def ctx(gl_context):
    """The session context, with no GL error left before or after the test."""
    assert gl_context.error == "GL_NO_ERROR", "a previous test left a GL error behind"
    yield gl_context
    assert gl_context.error == "GL_NO_ERROR"


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one intra-op thread for a module of tiny-tensor tests: a second thread only adds
    synchronisation, which costs milliseconds per op on a busy 2-core machine (BCE-with-logits
    on 128 numbers: 15 ms instead of 15 µs). Results agree to float rounding either way."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
