#version 330 core
// Rounded rectangles in pixels (HUD panels, legend swatches, frames), anti-aliased by distance.
#include "common.glsl"

#ifdef VERTEX_SHADER
in vec4 in_rect;                // x, y, width, height from the top left
in vec4 in_color;
in float in_radius;
out vec2 v_local;               // pixels from the rectangle's centre
flat out vec2 v_half;
flat out vec4 v_color;
flat out float v_radius;

void main() {
    v_half = 0.5 * in_rect.zw;
    v_local = QUAD_CORNERS[gl_VertexID] * (v_half + 1.0);
    v_color = in_color;
    v_radius = min(in_radius, min(v_half.x, v_half.y));
    gl_Position = top_left_pixels_to_clip(in_rect.xy + v_half + v_local);
}
#endif

#ifdef FRAGMENT_SHADER
in vec2 v_local;
flat in vec2 v_half;
flat in vec4 v_color;
flat in float v_radius;
out vec4 frag;

void main() {
    // signed distance to a rounded box (negative inside)
    vec2 q = abs(v_local) - v_half + v_radius;
    float d = length(max(q, 0.0)) + min(max(q.x, q.y), 0.0) - v_radius;
    float alpha = v_color.a * clamp(0.5 - d, 0.0, 1.0);
    frag = vec4(v_color.rgb * alpha, alpha);
}
#endif
