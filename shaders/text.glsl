#version 330 core
// Text from a glyph atlas: red = glyph coverage, green = the glyph dilated into a dark halo.
#include "common.glsl"

#ifdef VERTEX_SHADER
in vec2 in_pos;                 // pixels from the top left
in vec2 in_uv;
in vec4 in_color;
out vec2 v_uv;
out vec4 v_color;

void main() {
    v_uv = in_uv;
    v_color = in_color;
    gl_Position = top_left_pixels_to_clip(in_pos);
}
#endif

#ifdef FRAGMENT_SHADER
uniform sampler2D u_atlas;
uniform vec4 u_halo;            // halo colour and opacity
in vec2 v_uv;
in vec4 v_color;
out vec4 frag;

void main() {
    vec2 coverage = texture(u_atlas, v_uv).rg;
    float text = coverage.r * v_color.a;
    float halo = coverage.g * u_halo.a * v_color.a;
    // premultiplied: text over its halo
    float alpha = text + halo * (1.0 - text);
    frag = vec4(v_color.rgb * text + u_halo.rgb * halo * (1.0 - text), alpha);
}
#endif
