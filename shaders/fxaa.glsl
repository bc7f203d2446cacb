#version 330 core
// FXAA (after Lottes' FXAA 2): blurs along detected edges in one fullscreen pass; cheap on llvmpipe.
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

const vec3 LUMA = vec3(0.299, 0.587, 0.114);
const float REDUCE_MIN = 1.0 / 128.0;
const float REDUCE_MUL = 1.0 / 8.0;
const float SPAN_MAX = 8.0;
const float EDGE_MIN = 1.0 / 24.0;  // contrast below this is left untouched (flat areas exact)

vec3 fetch(vec2 offset_px) {
    return texture(u_image, v_uv + offset_px / vec2(textureSize(u_image, 0))).rgb;
}

void main() {
    vec3 m = fetch(vec2(0.0));
    float l_nw = dot(fetch(vec2(-1.0, -1.0)), LUMA);
    float l_ne = dot(fetch(vec2(1.0, -1.0)), LUMA);
    float l_sw = dot(fetch(vec2(-1.0, 1.0)), LUMA);
    float l_se = dot(fetch(vec2(1.0, 1.0)), LUMA);
    float l_m = dot(m, LUMA);
    float l_min = min(l_m, min(min(l_nw, l_ne), min(l_sw, l_se)));
    float l_max = max(l_m, max(max(l_nw, l_ne), max(l_sw, l_se)));
    if (l_max - l_min < max(EDGE_MIN, l_max * 0.125)) {
        frag = vec4(m, 1.0);
        return;
    }
    // the edge runs perpendicular to the luma gradient; sample along it
    vec2 dir = vec2(-((l_nw + l_ne) - (l_sw + l_se)), (l_nw + l_sw) - (l_ne + l_se));
    float reduce = max((l_nw + l_ne + l_sw + l_se) * 0.25 * REDUCE_MUL, REDUCE_MIN);
    dir = clamp(dir / (min(abs(dir.x), abs(dir.y)) + reduce), -SPAN_MAX, SPAN_MAX);
    vec3 a = 0.5 * (fetch(dir * (1.0 / 3.0 - 0.5)) + fetch(dir * (2.0 / 3.0 - 0.5)));
    vec3 b = 0.5 * a + 0.25 * (fetch(dir * -0.5) + fetch(dir * 0.5));
    float l_b = dot(b, LUMA);
    frag = vec4((l_b < l_min || l_b > l_max) ? a : b, 1.0);
}
#endif
