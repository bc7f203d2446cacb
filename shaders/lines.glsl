#version 330 core
// Thick anti-aliased line segments as screen-space quads with round caps (trails, drop lines, axes).
#include "heightfield.glsl"
#include "common.glsl"
uniform mat4 u_mvp;
uniform float u_width_px;       // full width of a fresh segment with in_width = 1
uniform float u_outline_px;     // extra half-width of the dark outline pass; 0 in the colour pass

#ifdef VERTEX_SHADER
in vec4 in_p0;
in vec4 in_p1;
in vec3 in_color;
in vec2 in_fade;
in float in_width;
in float in_dash;
out vec2 v_local;               // pixels: along the segment from p0, across from its centre line
flat out float v_length;
flat out vec2 v_radius;         // half-widths at p0 and p1
flat out vec3 v_color;
flat out vec2 v_fade;
flat out float v_dash;

void main() {
    vec4 c0 = u_mvp * vec4(world_from_point(in_p0), 1.0);
    vec4 c1 = u_mvp * vec4(world_from_point(in_p1), 1.0);
    vec2 s0 = clip_to_pixels(c0);
    vec2 s1 = clip_to_pixels(c1);
    float len = length(s1 - s0);
    vec2 dir = len > 1e-4 ? (s1 - s0) / len : vec2(1.0, 0.0);
    vec2 across = vec2(-dir.y, dir.x);
    // old parts of a path are thinner (fade 0 -> 60 % width)
    v_radius = 0.5 * u_width_px * in_width * mix(vec2(0.6), vec2(1.0), in_fade) + u_outline_px;
    float reach = max(v_radius.x, v_radius.y) + 1.0;  // +1 px for the anti-aliased edge
    vec2 corner = QUAD_CORNERS[gl_VertexID];
    vec2 px = (corner.x < 0.0 ? s0 - dir * reach : s1 + dir * reach) + across * corner.y * reach;
    v_local = vec2(dot(px - s0, dir), dot(px - s0, across));
    v_length = len;
    v_color = in_color;
    v_fade = in_fade;
    v_dash = in_dash;
    vec4 end = corner.x < 0.0 ? c0 : c1;
    bool behind_camera = c0.w <= 0.0 || c1.w <= 0.0;
    gl_Position = behind_camera ? vec4(2.0, 2.0, 2.0, 1.0) : pixels_to_clip(px, end.z / end.w);
}
#endif

#ifdef FRAGMENT_SHADER
uniform vec4 u_outline_color;   // used when u_outline_px > 0
in vec2 v_local;
flat in float v_length;
flat in vec2 v_radius;
flat in vec3 v_color;
flat in vec2 v_fade;
flat in float v_dash;
out vec4 frag;

void main() {
    float t = clamp(v_local.x / max(v_length, 1e-6), 0.0, 1.0);
    float radius = mix(v_radius.x, v_radius.y, t);
    float distance_px = length(vec2(v_local.x - t * v_length, v_local.y));  // to the segment
    float coverage = clamp(radius + 0.5 - distance_px, 0.0, 1.0);
    if (coverage <= 0.0 || (v_dash > 0.0 && fract(v_local.x / v_dash) > 0.6)) discard;
    // Old path: muted towards grey rather than transparent, so thousands of overlapping
    // segments of a slow run do not pile up into an opaque blob of a different colour.
    float fade = mix(v_fade.x, v_fade.y, t);
    vec3 muted = mix(vec3(dot(v_color, vec3(0.3, 0.59, 0.11))), v_color, 0.7) * 0.85;
    vec3 color = mix(muted, v_color, fade);
    frag = u_outline_px > 0.0 ? vec4(u_outline_color.rgb, u_outline_color.a * coverage)
                              : vec4(color, coverage);
}
#endif
