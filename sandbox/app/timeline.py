"""The timeline window: playback buttons, the step and its scrubber, then the scenario's plots
(`[view] plots`, drawn by name from app/instrument_plots.py, whose primitives are app/plots.py).
It sits above both plot modules, so neither imports the other back."""

from __future__ import annotations

from sandbox.app.commands import Command
from sandbox.app.instrument_plots import DRAW
from sandbox.app.panel import Action, CommandAction
from sandbox.app.plots import TimelineView
from sandbox.instruments import DEFAULT_PLOTS


def timeline_window(gui, view: TimelineView, box: tuple, state) -> list[Action]:
    """The bar docked at `box` (pixels: left, top, right, bottom; see app/layout.py): playback,
    scrubber, plots. Its title bar's arrow collapses it (`state.timeline_open`: a PanelState);
    `state.item_rects` receives the window's and the scrubber's rectangles (for tests)."""
    imgui = gui.imgui
    ui = gui.ui * gui.font_scale
    actions: list[Action] = []
    rects = state.item_rects
    with gui.docked_window("Timeline and plots", box, state.timeline_open) as window:
        state.timeline_open, rects["plots"] = window
        if not window.open:
            return actions
        if imgui.button("play" if view.paused else "pause", (70 * ui, 0)):
            actions.append(CommandAction(Command.TOGGLE))
        imgui.same_line()
        if imgui.button("step"):
            actions.append(CommandAction(Command.STEP))
        imgui.same_line()
        if imgui.button("-"):
            actions.append(CommandAction(Command.SLOWER))
        imgui.same_line()
        imgui.text(f"×{view.speed:.3g}")
        imgui.same_line()
        if imgui.button("+"):
            actions.append(CommandAction(Command.FASTER))
        imgui.same_line()
        # the step beside the slider, not inside it: its handle covered the digits; in a
        # narrow column (lecture mode) both go on a line of their own
        label = f"step {view.step} of {view.steps}"
        if imgui.get_content_region_avail().x < imgui.calc_text_size(label).x + 160 * ui:
            imgui.new_line()
        imgui.text(label)
        imgui.same_line()
        imgui.set_next_item_width(-1)
        changed, step = imgui.slider_int("##scrub", view.step, 0, max(view.available, 0), "")
        if changed:
            actions.append(CommandAction(Command.SCRUB, step))
        low, high = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        rects["scrub"] = (low.x, low.y, high.x, high.y)
        _plots(gui, view, actions)
    return actions


def _plots(gui, view: TimelineView, actions: list[Action]) -> None:
    """The scenario's plots (`[view] plots`; by default loss, λmax when a run measures it,
    gradient norm and distance) in one row, or two when the bar is not wide. No legends: the
    colours are the runs' colours in the frame's legend; hovering names them."""
    implot = gui.implot
    size = gui.imgui.get_content_region_avail()
    if size.y < 60:
        return
    declared = getattr(view.histories, "plots", DEFAULT_PLOTS)
    names = [name for name in declared if name != "sharpness" or view.measured]
    wide = size.x > 2.2 * size.y  # a wide bar: one row of plots, else two rows
    rows = 1 if wide or len(names) < 2 else 2
    if size.y > size.x and len(names) <= 3:  # a column (lecture mode): one plot a row, so
        rows = len(names)  # each title has the column's width (a 2 x 2 grid clipped them)
    if not names or not implot.begin_subplots("##plots", rows, -(-len(names) // rows), size):
        return
    try:
        for name in names:
            DRAW[name](gui, view, actions)
    finally:
        implot.end_subplots()
