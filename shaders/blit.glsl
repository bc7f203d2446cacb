#version 330 core
// Copies the finished frame onto the window (letterboxed by the viewport) with one fullscreen triangle.
uniform sampler2D u_image;

#ifdef VERTEX_SHADER
out vec2 v_uv;

void main() {
    vec2 p = vec2(gl_VertexID == 1 ? 3.0 : -1.0, gl_VertexID == 2 ? 3.0 : -1.0);
    v_uv = p * 0.5 + 0.5;
    gl_Position = vec4(p, 0.0, 1.0);
}
#endif

#ifdef FRAGMENT_SHADER
in vec2 v_uv;
out vec4 frag;

void main() {
    frag = vec4(texture(u_image, v_uv).rgb, 1.0);
}
#endif
