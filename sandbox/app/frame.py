"""How the app draws one frame: the scene, the docked panels over it, presented onto the
backend's screen (a part of `App`, kept apart so that the shell reads in one screen)."""

from __future__ import annotations

from dataclasses import replace

from sandbox.app.keys import help_rows
from sandbox.app.model import default_colors
from sandbox.app.pointer import dragged
from sandbox.render.framing import same_region


class FrameDrawing:
    """`App`'s drawing: what a frame shows, the camera framing, the panels and their actions."""

    def setup_drawing(self) -> None:
        self._drawn: tuple | None = None  # what the frame on screen shows (`_looks`)
        self.framed = None  # the camera as framed for the layout, until the user moves it
        self.framed_region = None  # where `framed` puts the surface (renderer.region)
        self.waiting: tuple[str, str] | None = None  # (title, message) of the last frame drawn

    def draw_frame(self, changed: bool) -> bool:
        """Draw and present a frame unless nothing `changed` and it would look the same."""
        looks = (self._looks(), self._notices_key())
        if not changed and looks == self._drawn:
            if self.recorder is not None:
                self._record()  # a still view is recorded time too
            return False
        self._drawn = looks
        controller = self.controller
        state = controller.model.scene(
            controller.playback.step,
            help=help_rows() if controller.show_help else (),
            wireframe=controller.wireframe,
            anatomy=controller.anatomy,
            stepping=controller.playback.paused,
            theme=self.theme,
            hidden=frozenset(controller.hidden),
            alert=controller.alert(),
        )
        if state is None:  # the surface is still being computed, or never will be
            self._draw_waiting()
        else:
            names = [run.name for run in controller.scenario.runs]
            preview = self.pointer.preview(waiting=controller.pending is not None)
            trails = dragged(state.trails, preview, names, controller.model.surface)
            self._draw_scene(replace(state, trails=trails))
        self._draw_notices()  # on the screen only: not in the recording or a screenshot
        self.backend.flip()
        return True

    def _draw_waiting(self) -> None:
        failure = self.controller.model.failure
        message = self.controller.alert() if failure else "computing the landscape…"
        self.waiting = (self.controller.scenario.title, message)
        self.renderer.draw_waiting(*self.waiting, self.theme, error=bool(failure))
        self.renderer.present(self.backend.screen, self.window_size)

    def _draw_scene(self, state) -> None:
        # With the panels up, the alert goes over them (`_panels`): the HUD's banner at the
        # bottom would sit under the timeline
        drawn, panels = state, self.controller.show_panel
        if panels:  # the panels show the alert, the help goes over them, and an
            # open control panel lists each run's numbers under its name: no legend
            # ... except with the anatomy arrows on: the legend then carries their key and the
            # numbers of the update, which the panel's list of runs does not
            legend = not self.controller.panel_state.controls_open or bool(state.key_lines)
            drawn = replace(state, alert="", help=(), show_legend=legend)
        docked = self.layout() if panels else None
        area, captions = (docked.view, docked.captions) if docked else (None, None)
        self.renderer.draw(drawn, self.controller.camera, area, captions)
        self._frame_camera(drawn, area, captions)
        if panels:
            self._panels(state)
            if state.help:  # the key help goes over everything, the panels too
                self.renderer.draw_help(state.help, self.theme)
        self.renderer.present(self.backend.screen, self.window_size)
        self.controller.last_state, self.waiting = state, None
        if self.recorder is not None:
            self._record(self.renderer.read_rgb())

    def _looks(self) -> tuple:
        """Everything a frame shows besides what events and worker messages change."""
        return (*self.controller.looks(), self.theme, self.window_size)

    def layout(self):
        """Where the docked panels and the 3-D view go this frame (app/layout.py)."""
        from sandbox.app import layout

        state = self.controller.panel_state
        ui = self.gui.ui * self.gui.font_scale
        declared = self.controller.scenario.view is not None  # its [view] plots carry the claim
        column = declared and self.controller.lecture  # big type needs the view's full height
        share = (
            layout.INSTRUMENTS_WIDTH
            if column
            else layout.INSTRUMENTS_HEIGHT
            if declared
            else layout.TIMELINE_HEIGHT
        )
        open_ = (state.controls_open, state.timeline_open)
        return layout.docked(self.window_size, ui, *open_, share, timeline_right=column)

    def _frame_camera(self, state, area, captions=None) -> None:
        """Frame the surface in the part of the view that no panel covers, the first time and
        again whenever that part moves (a panel collapsed, the window resized, an alert shown),
        unless the user has moved the camera: then it stays theirs."""
        region = self.renderer.region
        controller = self.controller
        if controller.camera is not None:
            if controller.camera is not self.framed or same_region(region, self.framed_region):
                return
            self.renderer.draw(state, None, area, captions)  # again, with the view re-framed
        controller.camera = self.framed = self.renderer.camera
        self.framed_region = region

    def _panels(self, state) -> None:
        """The control panel and the timeline over the frame; their actions go to the
        controller."""
        from sandbox.app import panel, timeline

        controller, gui, layout = self.controller, self.gui, self.layout()
        gui.begin_frame()
        actions = panel.control_panel(gui, self._panel_view(state), controller.panel_state,
                                      layout.controls)  # fmt: skip
        actions += timeline.timeline_window(
            gui, self._timeline_view(), layout.timeline, controller.panel_state
        )
        rects = controller.panel_state.item_rects
        left, right = layout.timeline[0], layout.timeline[2]
        if state.alert:  # just above the timeline, wherever the user has moved it
            bottom = rects["plots"][1] if "plots" in rects else self.window_size[1]
            gui.banner(state.alert, left, right, bottom - 8 * gui.ui)
        gui.end_frame(self.renderer.targets.final_fbo)
        for action in actions:
            controller.apply(action)

    def _panel_view(self, state):
        from sandbox.app import panel

        controller = self.controller
        return panel.PanelView(
            scenario=controller.scenario,
            source=controller.source.name if controller.source else "",
            # the scenario's own colours: after a ball is dropped it has one more run than the
            # model on screen, until the new runs have caught up
            colors=default_colors(controller.scenario),
            hidden=frozenset(controller.hidden),
            current=panel.current_values(controller.scenario, controller.playback.step),
            choices=controller.scenario_choices(),
            message=controller.message,
            message_is_error=controller.message_is_error,
            busy=f"{controller.pending.note}…" if controller.pending else "",
            details={trail.name: trail.label for trail in state.trails},
            notes=state.hud_lines,
        )

    def _timeline_view(self):
        from sandbox.app import plots

        model, playback = self.controller.model, self.controller.playback
        hidden = frozenset(self.controller.hidden)
        return plots.TimelineView(
            names=[run.name for run in model.scenario.runs],
            colors=model.colors,
            histories=model.histories,
            hidden=hidden,
            step=playback.step,
            available=model.available_step(),
            steps=model.scenario.steps,
            paused=playback.paused,
            speed=playback.speed,
            measured=bool(model.sharpness),
        )
