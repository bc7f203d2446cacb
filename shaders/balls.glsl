#version 330 core
// Markers at each run's current point: shaded sphere impostors, hollow rings, small foot dots.
#include "common.glsl"
uniform mat4 u_mvp;
uniform float u_hidden;         // 1: drawing the parts behind the surface (seen through it)

#ifdef VERTEX_SHADER
in vec3 in_center;              // world position
in vec3 in_color;
in float in_radius;
in float in_style;
out vec2 v_offset;              // pixels from the centre
flat out vec3 v_color;
flat out float v_radius;
flat out float v_style;

void main() {
    vec4 clip = u_mvp * vec4(in_center, 1.0);
    float reach = in_radius + 1.0;
    v_offset = QUAD_CORNERS[gl_VertexID] * reach;
    v_color = in_color;
    v_radius = in_radius;
    v_style = in_style;
    vec2 px = clip_to_pixels(clip) + v_offset;
    gl_Position = clip.w <= 0.0 ? vec4(2.0, 2.0, 2.0, 1.0) : pixels_to_clip(px, clip.z / clip.w);
}
#endif

#ifdef FRAGMENT_SHADER
in vec2 v_offset;
flat in vec3 v_color;
flat in float v_radius;
flat in float v_style;
out vec4 frag;

const vec3 DARK = vec3(0.05, 0.05, 0.07);

void main() {
    float d = length(v_offset);
    float coverage = clamp(v_radius + 0.5 - d, 0.0, 1.0);
    if (coverage <= 0.0) discard;
    float outline = max(1.5, 0.2 * v_radius);
    float in_outline = smoothstep(v_radius - outline - 0.5, v_radius - outline + 0.5, d);
    vec3 color;
    if (v_style < 0.5) {
        // sphere impostor: the disk's normal, lit from the upper left, with a highlight;
        // scaled so the centre shows the run's exact colour (the legend's swatch)
        vec2 q = v_offset / max(v_radius - outline, 1.0);
        vec3 n = vec3(q.x, q.y, sqrt(max(0.0, 1.0 - dot(q, q))));
        vec3 l = normalize(vec3(-0.45, 0.55, 0.7));
        float diffuse = max(dot(n, l), 0.0);
        float highlight = pow(max(dot(reflect(-l, n), vec3(0.0, 0.0, 1.0)), 0.0), 24.0);
        color = v_color * (0.4 + 0.7 * diffuse) / (0.4 + 0.7 * l.z) + 0.5 * highlight;
    } else if (v_style < 1.5) {
        // hollow ring (diverged run): colour band between two dark outlines
        float inner = smoothstep(0.45 * v_radius - 0.5, 0.45 * v_radius + 0.5, d);
        if (inner <= 0.0) discard;
        coverage *= inner;
        color = d < 0.45 * v_radius + outline ? DARK : v_color;
    } else {
        color = v_color;  // foot marker: a flat dot
    }
    if (u_hidden > 0.5) {
        // seen through the surface: a band in the run's colour around a faint centre, so a ball
        // at the bottom of a pit seen over its rim reads as inside it, not on the slope in front
        float band = smoothstep(0.55 * v_radius - 0.5, 0.55 * v_radius + 0.5, d);
        color = v_color;
        coverage *= mix(0.25, 1.0, band);
    }
    frag = vec4(mix(min(color, vec3(1.0)), DARK, in_outline), coverage);
}
#endif
