"""The offscreen framebuffers of one frame size.

The 3-D scene is drawn into `scene_fbo` (multisampled if asked, and at `scale` times the output
size: on software GL the fragment cost follows the pixel count), resolved into `scene_image`,
then post-processed (FXAA and/or upscaling) into `final_fbo`, where the HUD is drawn at full
resolution. Without FXAA and at scale 1 the final image is the scene image itself.
"""

from __future__ import annotations

import moderngl


class FrameTargets:
    """Framebuffers and textures for frames of `size` = (width, height)."""

    def __init__(
        self,
        ctx: moderngl.Context,
        size: tuple[int, int],
        samples: int,
        scale: float,
        fxaa: bool,
        home: moderngl.Framebuffer,
    ):
        width, height = int(size[0]), int(size[1])
        if width < 16 or height < 16:
            raise ValueError(f"frame size must be at least 16x16, got {size}")
        if not 0.25 <= scale <= 1.0:
            raise ValueError(f"render scale must be in [0.25, 1], got {scale}")
        self.ctx, self._home = ctx, home
        self.size = (width, height)
        self.scene_size = (max(16, round(width * scale)), max(16, round(height * scale)))
        self.fxaa = fxaa and not samples  # multisampling already smooths the silhouettes
        self.post = self.fxaa or self.scene_size != self.size
        self._owned: list = []
        self._make_scene(samples)
        if self.post:
            self.final_image = self._own(ctx.texture(self.size, 4))
            self.final_fbo = self._own(ctx.framebuffer([self.final_image]))
        else:
            self.final_image = self.scene_image
            self.final_fbo = self._resolve_fbo or self.scene_fbo
        # the final image alone, no depth: copied to a window of the same size as it is (a blit
        # of colour only; the window's depth buffer has another format)
        self.image_fbo = self.final_fbo
        if self.final_fbo is self.scene_fbo:  # the only one of them with a depth attachment
            self.image_fbo = self._own(ctx.framebuffer([self.final_image]))
        self.scene_image.filter = (moderngl.LINEAR, moderngl.LINEAR)  # upscaling reads between
        self.final_image.filter = (moderngl.LINEAR, moderngl.LINEAR)

    def _own(self, item):
        self._owned.append(item)
        return item

    def _make_scene(self, samples: int) -> None:
        ctx, size = self.ctx, self.scene_size
        self.scene_image = self._own(ctx.texture(size, 4))
        if samples:
            depth = self._own(ctx.depth_renderbuffer(size, samples=samples))
            color = self._own(ctx.renderbuffer(size, 4, samples=samples))
            self.scene_fbo = self._own(ctx.framebuffer([color], depth))
            self._resolve_fbo = self._own(ctx.framebuffer([self.scene_image]))
            self.scene_depth = None
        else:  # a depth texture: FXAA finds the silhouettes in it
            self.scene_depth = self._own(ctx.depth_texture(size))
            self.scene_fbo = self._own(ctx.framebuffer([self.scene_image], self.scene_depth))
            self._resolve_fbo = None

    def resolve(self) -> None:
        """Make `scene_image` hold the scene (a no-op without multisampling)."""
        if self._resolve_fbo is not None:
            self.ctx.copy_framebuffer(self._resolve_fbo, self.scene_fbo)

    def release(self) -> None:
        # moderngl rebinds the current framebuffer after creating objects: it must never be one
        # that was released, so step back to the context's own first
        self._home.use()
        for item in reversed(self._owned):
            item.release()
        self._owned = []
