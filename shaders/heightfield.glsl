// Include: the height field (texture of normalised heights and slopes), surface to world.
uniform sampler2D u_height;     // RGB32F: normalised height h in [0, 1], dh/du, dh/dv; rows = y
uniform vec2 u_half_extent;     // world half-size of the footprint along x and y
uniform float u_zscale;         // world height of normalised height 1

vec3 world_from_surface(vec2 uv, float h) {
    return vec3((uv * 2.0 - 1.0) * u_half_extent, h * u_zscale);
}

// (h, dh/du, dh/dv) at uv. Texel centres sit on the grid samples: uv = 0 and uv = 1 hit the
// first and last sample exactly. The slopes are precomputed (central differences) so that a
// fragment costs one fetch instead of five.
vec3 height_sample(vec2 uv) {
    vec2 n = vec2(textureSize(u_height, 0));
    return textureLod(u_height, (clamp(uv, 0.0, 1.0) * (n - 1.0) + 0.5) / n, 0.0).rgb;
}

float height_at(vec2 uv) {
    return height_sample(uv).r;
}
