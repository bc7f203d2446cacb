#version 330 core
// Copies the finished frame onto the window (letterboxed by the viewport) with one fullscreen triangle.
uniform sampler2D u_image;

#include "fullscreen.glsl"

#ifdef FRAGMENT_SHADER
in vec2 v_uv;
out vec4 frag;

void main() {
    frag = vec4(texture(u_image, v_uv).rgb, 1.0);
}
#endif
