"""Orbit camera in world coordinates (z up), as an immutable value.

Every change (orbit, pan, zoom) returns a new camera, so a frame is a pure function of
(state, camera). Inputs are sanitised: a NaN from a mouse delta never reaches a matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

PITCH_RANGE = (5.0, 89.0)
# Where the default framing puts the surface, in normalised device coordinates (x0, x1, y0, y1):
# clear of the title and legend panels at the top.
FRAME_REGION = (-0.8, 0.8, -0.95, 0.62)
DISTANCE_RANGE = (0.3, 40.0)


def _finite(value: float, fallback: float) -> float:
    return float(value) if math.isfinite(value) else fallback


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-to-camera 4x4 matrix (right-handed, camera looks down -z)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    right = right / np.linalg.norm(right)
    true_up = np.cross(right, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """OpenGL perspective projection 4x4 matrix."""
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    proj = np.zeros((4, 4))
    proj[0, 0], proj[1, 1] = f / aspect, f
    proj[2, 2] = (far + near) / (near - far)
    proj[2, 3] = 2 * far * near / (near - far)
    proj[3, 2] = -1.0
    return proj


def orthographic(half_w: float, half_h: float, near: float, far: float) -> np.ndarray:
    """OpenGL orthographic projection 4x4 matrix centred on the view axis."""
    proj = np.eye(4)
    proj[0, 0], proj[1, 1] = 1 / half_w, 1 / half_h
    proj[2, 2] = -2 / (far - near)
    proj[2, 3] = -(far + near) / (far - near)
    return proj


@dataclass(frozen=True)
class OrbitCamera:
    """A camera circling `target`: angles in degrees, yaw measured from +x towards +y."""

    yaw: float = -120.0
    pitch: float = 40.0
    distance: float = 4.0
    target: tuple[float, float, float] = (0.0, 0.0, 0.3)
    fov_y: float = 32.0

    def __post_init__(self) -> None:
        default = OrbitCamera.__dataclass_fields__
        target = tuple(
            _finite(t, d) for t, d in zip(self.target, default["target"].default, strict=True)
        )
        object.__setattr__(self, "yaw", _finite(self.yaw, default["yaw"].default) % 360.0)
        pitch = _finite(self.pitch, default["pitch"].default)
        object.__setattr__(self, "pitch", float(np.clip(pitch, *PITCH_RANGE)))
        distance = _finite(self.distance, default["distance"].default)
        object.__setattr__(self, "distance", float(np.clip(distance, *DISTANCE_RANGE)))
        object.__setattr__(self, "target", target)

    # --- framing -------------------------------------------------------------------------------
    @classmethod
    def framing(
        cls,
        points: np.ndarray,
        aspect: float,
        region: tuple[float, float, float, float] = FRAME_REGION,
        target_z: float = 0.3,
        pitch: float = 40.0,
    ) -> OrbitCamera:
        """A view from the front left, `pitch` degrees up, with the (N, 3) world `points` filling
        `region` = (x0, x1, y0, y1) of the view in normalised device coordinates.

        The default region leaves the top of the frame to the title and legend panels.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        points = points[np.all(np.isfinite(points), axis=1)]
        camera = cls(target=(0.0, 0.0, target_z), distance=4.0, pitch=pitch)
        if len(points) == 0:
            return camera
        x0, x1, y0, y1 = region
        # A few fixed-point steps: centre the projected points on the region, then scale the
        # distance by how much too big or small they are (nearly linear once centred).
        for _ in range(8):
            ndc = camera._ndc(points, aspect)
            (lo_x, lo_y), (hi_x, hi_y) = ndc.min(axis=0), ndc.max(axis=0)
            shift = ((lo_x + hi_x) - (x0 + x1)) / 2, ((lo_y + hi_y) - (y0 + y1)) / 2
            camera = camera.pan(-shift[0] * aspect / 2, -shift[1] / 2)
            ratio = max((hi_x - lo_x) / (x1 - x0), (hi_y - lo_y) / (y1 - y0))
            camera = replace(camera, distance=camera.distance * _finite(ratio, 1.0))
        return camera

    def _ndc(self, points: np.ndarray, aspect: float) -> np.ndarray:
        clip = np.column_stack([points, np.ones(len(points))]) @ self.view_projection(aspect).T
        return clip[:, :2] / clip[:, 3:4]

    # --- changes -------------------------------------------------------------------------------
    def orbit(self, d_yaw: float, d_pitch: float) -> OrbitCamera:
        """Turned around the target by the given angles (degrees)."""
        return replace(
            self, yaw=self.yaw + _finite(d_yaw, 0), pitch=self.pitch + _finite(d_pitch, 0)
        )

    def pan(self, dx: float, dy: float) -> OrbitCamera:
        """Target moved across the view; dx, dy in fractions of the view height."""
        right, up, _ = self.basis()
        scale = 2 * self.distance * math.tan(math.radians(self.fov_y) / 2)
        shift = (right * _finite(dx, 0) + up * _finite(dy, 0)) * scale
        return replace(self, target=tuple(np.asarray(self.target) - shift))

    def zoom(self, factor: float) -> OrbitCamera:
        """Distance divided by `factor` (> 1 moves closer)."""
        factor = _finite(factor, 1.0)
        return replace(self, distance=self.distance / factor) if factor > 0 else self

    # --- matrices ------------------------------------------------------------------------------
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(right, up, forward) unit vectors in world space; forward points at the target."""
        view = self._view
        return view[0, :3], view[1, :3], -view[2, :3]

    def eye(self) -> np.ndarray:
        yaw, pitch = math.radians(self.yaw), math.radians(self.pitch)
        offset = np.array(
            [math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch)]
        )
        return np.asarray(self.target) + self.distance * offset

    @cached_property
    def _view(self) -> np.ndarray:
        return look_at(self.eye(), np.asarray(self.target), np.array([0.0, 0.0, 1.0]))

    def view_matrix(self) -> np.ndarray:
        return self._view.copy()

    def projection_matrix(self, aspect: float) -> np.ndarray:
        return perspective(self.fov_y, aspect, self.distance * 0.05, self.distance * 6 + 4)

    def view_projection(self, aspect: float) -> np.ndarray:
        return self.projection_matrix(aspect) @ self.view_matrix()

    def project(self, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Pixel coordinates (x right, y down, as in `Renderer.read_rgb`) of (N, 3) world points.

        Pixel (row i, column j) covers [j, j + 1) x [i, i + 1); points behind the camera give NaN.
        """
        return project_points(self.view_projection(size[0] / size[1]), points, size)


def clip_points(view_proj: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 4) clip coordinates of (N, 3) world points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.column_stack([points, np.ones(len(points))]) @ view_proj.T


def project_points(view_proj: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixel coordinates (y down) of (N, 3) world points under a 4x4 view-projection matrix."""
    clip = clip_points(view_proj, points)
    w = clip[:, 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc = np.where(w > 1e-9, clip[:, :2] / w, np.nan)
    width, height = size
    return np.column_stack([(ndc[:, 0] + 1) * 0.5 * width, (1 - ndc[:, 1]) * 0.5 * height])


def camera_light(camera: OrbitCamera) -> tuple[float, float, float]:
    """A light above and to the left of the viewer, so relief reads the same from any side."""
    right, _, forward = camera.basis()
    flat_forward = np.array([forward[0], forward[1], 0.0])
    light = -0.6 * right - 0.35 * flat_forward / max(np.linalg.norm(flat_forward), 1e-9)
    light = light + np.array([0.0, 0.0, 0.8])
    return tuple(float(c) for c in light / np.linalg.norm(light))
