#version 330 core
// Thick anti-aliased line segments with a dark rim: screen-space quads with round caps.
// End points arrive in world space and are projected here, so a path's buffer is uploaded once
// and reused while only the camera moves. Each segment is 4 vertices carrying the whole segment:
// on llvmpipe every instance of an instanced draw has a large fixed cost. gl_VertexID % 4 picks
// the corner.
#include "common.glsl"
uniform mat4 u_mvp;
uniform float u_width_px;       // full width of the coloured core of a fresh segment, in_width = 1
uniform float u_outline_px;     // width of the dark rim on each side of the core
uniform float u_core_pass;      // 0: the dark rim over the full width; 1: the colour, core only

#ifdef VERTEX_SHADER
in vec3 in_p0;                  // world position of the start
in vec3 in_p1;                  // and of the end
in vec3 in_color;
in vec2 in_fade;
in float in_width;
in float in_dash;
in float in_cap;                // 0: the next segment starts at p1 and draws the round joint there
out vec2 v_local;               // pixels: along the segment from s0, across from its centre line
flat out float v_length;
flat out vec2 v_core;           // core half-widths at s0 and s1
flat out vec3 v_color;
flat out vec2 v_fade;
flat out float v_dash;
flat out vec2 v_depth;          // window depth of s0 and s1

void main() {
    vec4 c0 = u_mvp * vec4(in_p0, 1.0);
    vec4 c1 = u_mvp * vec4(in_p1, 1.0);
    if (c0.w <= 1e-9 || c1.w <= 1e-9) {
        // an end behind the camera: the whole segment collapses to one point outside the view
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        return;
    }
    vec2 s0 = clip_to_pixels(c0);
    vec2 s1 = clip_to_pixels(c1);
    float len = length(s1 - s0);
    vec2 dir = len > 1e-4 ? (s1 - s0) / len : vec2(1.0, 0.0);
    vec2 across = vec2(-dir.y, dir.x);
    // old parts of a path are thinner (fade 0 -> 60 % width)
    v_core = 0.5 * u_width_px * in_width * mix(vec2(0.6), vec2(1.0), in_fade);
    float rim = u_core_pass > 0.5 ? 0.0 : u_outline_px;
    float reach = max(v_core.x, v_core.y) + rim + 0.5;  // +0.5 px: where coverage reaches 0
    vec2 corner = QUAD_CORNERS[gl_VertexID % 4];
    // Without an end cap (the next segment draws the joint) the quad still reaches `reach` past
    // s0: its own start cap is a whole disc even when the segment is shorter than its width.
    float ahead = in_cap > 0.5 ? len + reach : max(len, reach);
    vec2 px = (corner.x < 0.0 ? s0 - dir * reach : s0 + dir * ahead) + across * corner.y * reach;
    v_local = vec2(dot(px - s0, dir), dot(px - s0, across));
    v_length = len;
    v_color = in_color;
    v_fade = in_fade;
    v_dash = in_dash;
    // The fragment shader gives each pixel the depth of the nearest point of the segment (see
    // there); the quad's own depth only has to lie between the ends'.
    v_depth = 0.5 + 0.5 * vec2(c0.z / c0.w, c1.z / c1.w);
    gl_Position = pixels_to_clip(px, corner.x < 0.0 ? c0.z / c0.w : c1.z / c1.w);
}
#endif

#ifdef FRAGMENT_SHADER
uniform vec4 u_outline_color;
in vec2 v_local;
flat in float v_length;
flat in vec2 v_core;
flat in vec3 v_color;
flat in vec2 v_fade;
flat in float v_dash;
flat in vec2 v_depth;
out vec4 frag;

void main() {
    float t = clamp(v_local.x / max(v_length, 1e-6), 0.0, 1.0);
    float radius = mix(v_core.x, v_core.y, t) + (u_core_pass > 0.5 ? 0.0 : u_outline_px);
    float d = length(vec2(v_local.x - t * v_length, v_local.y));  // pixels to the segment
    float coverage = clamp(radius + 0.5 - d, 0.0, 1.0);
    if (coverage <= 0.0 || (v_dash > 0.0 && fract(v_local.x / v_dash) > 0.6)) discard;
    // The depth of the nearest point of the segment, not a ramp across the quad: the round caps
    // of two segments meeting at a joint then test the same depth against the surface, whichever
    // of them draws it (a line only just above the surface would otherwise lose rim pixels where
    // one segment's ramp runs ahead of the other's).
    gl_FragDepth = mix(v_depth.x, v_depth.y, t);
    if (u_core_pass < 0.5) {
        frag = vec4(u_outline_color.rgb, u_outline_color.a * coverage);
        return;
    }
    // Old path: muted towards grey rather than transparent, so thousands of overlapping
    // segments of a slow run do not pile up into an opaque blob of a different colour.
    float fade = mix(v_fade.x, v_fade.y, t);
    vec3 muted = mix(vec3(dot(v_color, vec3(0.3, 0.59, 0.11))), v_color, 0.8) * 0.9;
    frag = vec4(mix(muted, v_color, fade), coverage);
}
#endif
