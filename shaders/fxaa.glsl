#version 330 core
// FXAA (after Lottes' FXAA 2) on geometry edges only: blurs along the surface's silhouette.
// Edges are found in the depth buffer, not in colour: lines, contours and balls are already
// anti-aliased in their shaders and would only get softer. The test uses unfiltered texelFetch
// (cheap on llvmpipe); only edge pixels pay for the filtered taps along the edge.
uniform sampler2D u_image;      // the scene, bilinear filtering on
uniform sampler2D u_depth;      // the scene's depth

#include "fullscreen.glsl"

#ifdef FRAGMENT_SHADER
in vec2 v_uv;
out vec4 frag;

const vec3 LUMA = vec3(0.299, 0.587, 0.114);
const float REDUCE_MIN = 1.0 / 128.0;
const float REDUCE_MUL = 1.0 / 8.0;
const float SPAN_MAX = 8.0;
const float DEPTH_EDGE = 2e-4;

float depth_at(ivec2 texel) {
    return texelFetch(u_depth, clamp(texel, ivec2(0), textureSize(u_depth, 0) - 1), 0).r;
}

// Depth is planar across a triangle and across the backdrop: a second difference well above
// zero marks a silhouette (surface against backdrop, or a ridge in front of a valley).
bool on_geometry_edge(ivec2 texel) {
    float d = depth_at(texel);
    float across_x = depth_at(texel + ivec2(1, 0)) + depth_at(texel - ivec2(1, 0)) - 2.0 * d;
    float across_y = depth_at(texel + ivec2(0, 1)) + depth_at(texel - ivec2(0, 1)) - 2.0 * d;
    return max(abs(across_x), abs(across_y)) > DEPTH_EDGE;
}

float luma_at(ivec2 texel) {
    ivec2 last = textureSize(u_image, 0) - 1;
    return dot(texelFetch(u_image, clamp(texel, ivec2(0), last), 0).rgb, LUMA);
}

void main() {
    vec2 size = vec2(textureSize(u_image, 0));
    // the texel under this pixel (the scene may be smaller than the output: upscaling)
    ivec2 texel = ivec2(v_uv * size);
    vec3 m = textureLod(u_image, v_uv, 0.0).rgb;
    if (!on_geometry_edge(texel)) {
        frag = vec4(m, 1.0);
        return;
    }
    float l_nw = luma_at(texel + ivec2(-1, -1));
    float l_ne = luma_at(texel + ivec2(1, -1));
    float l_sw = luma_at(texel + ivec2(-1, 1));
    float l_se = luma_at(texel + ivec2(1, 1));
    float l_m = dot(m, LUMA);
    float l_min = min(l_m, min(min(l_nw, l_ne), min(l_sw, l_se)));
    float l_max = max(l_m, max(max(l_nw, l_ne), max(l_sw, l_se)));
    // the edge runs perpendicular to the luma gradient; sample along it
    vec2 dir = vec2(-((l_nw + l_ne) - (l_sw + l_se)), (l_nw + l_sw) - (l_ne + l_se));
    float reduce = max((l_nw + l_ne + l_sw + l_se) * 0.25 * REDUCE_MUL, REDUCE_MIN);
    dir = clamp(dir / (min(abs(dir.x), abs(dir.y)) + reduce), -SPAN_MAX, SPAN_MAX) / size;
    vec3 a = 0.5 * (textureLod(u_image, v_uv + dir * (1.0 / 3.0 - 0.5), 0.0).rgb
                    + textureLod(u_image, v_uv + dir * (2.0 / 3.0 - 0.5), 0.0).rgb);
    vec3 b = 0.5 * a + 0.25 * (textureLod(u_image, v_uv - dir * 0.5, 0.0).rgb
                               + textureLod(u_image, v_uv + dir * 0.5, 0.0).rgb);
    float l_b = dot(b, LUMA);
    frag = vec4((l_b < l_min || l_b > l_max) ? a : b, 1.0);
}
#endif
