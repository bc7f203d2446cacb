#version 330 core
// Height-field surface: a coarse mesh displaced by the height texture; colour, light, contours per fragment.
#include "heightfield.glsl"
uniform mat4 u_mvp;

#ifdef VERTEX_SHADER
in vec2 in_uv;
out vec2 v_uv;

void main() {
    v_uv = in_uv;
    gl_Position = u_mvp * vec4(world_from_surface(in_uv, height_at(in_uv)), 1.0);
}
#endif

#ifdef FRAGMENT_SHADER
uniform sampler2D u_colormap;   // 256 x 1 RGB, low loss at the left
uniform vec3 u_light;           // unit vector towards the light, world space
uniform float u_light_strength; // 0 = flat colormap colours (the top-down mini-map)
uniform float u_contours;       // contour intervals over h in [0, 1]; 0 = none
uniform float u_grid;           // grid cells per side; 0 = no grid
uniform float u_line_px;        // contour line width in pixels
in vec2 v_uv;
out vec4 frag;

// Normal from the slopes: z = h * zscale and x = (2u - 1) * half_extent, so dz/dx = zscale
// dh/du / (2 half_extent).
vec3 surface_normal(vec2 dh_duv) {
    return normalize(vec3(-u_zscale * dh_duv / (2.0 * u_half_extent), 1.0));
}

// Anti-aliased lines where `value` crosses an integer, `width_px` wide on screen.
float isoline(float value, float width_px) {
    float px = abs(fract(value - 0.5) - 0.5) / max(fwidth(value), 1e-6);
    return 1.0 - smoothstep(0.5 * width_px - 0.5, 0.5 * width_px + 0.5, px);
}

void main() {
    vec3 hs = height_sample(v_uv);  // h, dh/du, dh/dv
    float h = hs.r;
    vec3 base = texture(u_colormap, vec2((h * 255.0 + 0.5) / 256.0, 0.5)).rgb;
    vec3 n = surface_normal(hs.gb);
    // Light relative to level ground: a flat patch keeps its exact colormap colour (so colour reads
    // as height), slopes facing the light get lighter and slopes facing away darker.
    float shade = 1.0 + u_light_strength * (dot(n, u_light) - u_light.z);
    vec3 color = base * clamp(shade, 0.35, 1.45);

    float level = h * u_contours;
    float contour = (u_contours > 0.0 && level > 0.5) ? isoline(level, u_line_px) : 0.0;
    // where lines would be closer than ~3 px they merge into a grey wash: fade them out
    contour *= 1.0 - smoothstep(0.2, 0.4, fwidth(level));
    color = mix(color, color * 0.2, 0.75 * contour);

    if (u_grid > 0.0) {
        vec2 cells = v_uv * u_grid;
        float grid = max(isoline(cells.x, 1.0), isoline(cells.y, 1.0));
        color = mix(color, vec3(1.0), 0.4 * grid);
    }
    frag = vec4(min(color, vec3(1.0)), 1.0);
}
#endif
