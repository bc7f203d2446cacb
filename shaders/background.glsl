#version 330 core
// Backdrop: a vertical gradient, darker at the bottom, drawn as one fullscreen triangle.
uniform vec3 u_top;
uniform vec3 u_bottom;

#ifdef VERTEX_SHADER
out float v_y;

void main() {
    vec2 p = vec2(gl_VertexID == 1 ? 3.0 : -1.0, gl_VertexID == 2 ? 3.0 : -1.0);
    v_y = p.y * 0.5 + 0.5;
    gl_Position = vec4(p, 1.0, 1.0);
}
#endif

#ifdef FRAGMENT_SHADER
in float v_y;
out vec4 frag;

void main() {
    frag = vec4(mix(u_bottom, u_top, clamp(v_y, 0.0, 1.0)), 1.0);
}
#endif
