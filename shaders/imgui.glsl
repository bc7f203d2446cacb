#version 330 core
// Dear ImGui draw lists (control panel, live plots): textured, vertex-coloured triangles in
// pixels from the top left. The colour arrives as 4 normalised bytes.
#include "common.glsl"

#ifdef VERTEX_SHADER
in vec2 in_pos;
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
uniform sampler2D u_texture;
in vec2 v_uv;
in vec4 v_color;
out vec4 frag;

void main() {
    frag = v_color * texture(u_texture, v_uv);
}
#endif
