"""Session fixtures: the one headless OpenGL context, and the long replay run beside the suite.

The GL context is made only when the selected tests use it (a run of the training tests alone
never starts Mesa's threads in a process that may fork), and the GL renderer is reported right
after collection. Set SANDBOX_SKIP_GL=1 to skip GL tests on a machine without EGL; CI renders on
Mesa llvmpipe and must not skip.

The 3·10⁶-step replay (tests/long_replay.py) takes ~12 min of CPU: when its test is selected it
starts right after collection, at the lowest priority, and its test runs last and waits for it.
"""

from __future__ import annotations

import os

import long_replay
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


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session, config, items):
    waiting = [item for item in items if item.name == long_replay.TEST_NAME]
    items[:] = [item for item in items if item.name != long_replay.TEST_NAME] + waiting
    _report_gl(config, items)


def pytest_collection_finish(session):
    if any(item.name == long_replay.TEST_NAME for item in session.items):
        _SESSION["long_replay"] = long_replay.LongReplay.start()


def pytest_sessionfinish(session):
    job = _SESSION.pop("long_replay", None)
    if job is not None:
        job.stop()  # interrupted or failed early: no orphan process


@pytest.fixture(scope="session")
def background_long_replay():
    """The long replay started after collection (or now, when collected some other way)."""
    if "long_replay" not in _SESSION:
        _SESSION["long_replay"] = long_replay.LongReplay.start()
    return _SESSION["long_replay"]


def _report_gl(config, items):
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
def renderer(gl_context):
    """One renderer at the picture tests' size (render_scenes.SIZE) for a module's tests."""
    from render_scenes import SIZE

    from sandbox.render import Renderer

    renderer = Renderer(gl_context, SIZE)
    yield renderer
    renderer.release()


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
