// Include: the height field (texture of normalised heights) and surface-to-world coordinates.
// A surface point is vec4(u, v, h, drape): drape = 1 puts it on the drawn mesh, ignoring h.
uniform sampler2D u_height;     // R32F, normalised height in [0, 1]; rows = y, columns = x
uniform vec2 u_half_extent;     // world half-size of the footprint along x and y
uniform float u_zscale;         // world height of normalised height 1
uniform float u_mesh_cells;     // cells per side of the drawn surface mesh
uniform float u_lift;           // world height added to draped points so they sit on top

vec3 world_from_surface(vec2 uv, float h) {
    return vec3((uv * 2.0 - 1.0) * u_half_extent, h * u_zscale);
}

// Texel centres sit on the grid samples: uv = 0 and uv = 1 hit the first and last sample exactly.
float height_at(vec2 uv) {
    vec2 n = vec2(textureSize(u_height, 0));
    return textureLod(u_height, (clamp(uv, 0.0, 1.0) * (n - 1.0) + 0.5) / n, 0.0).r;
}

// Height of the coarse mesh as drawn (planar triangles), so overlays sit exactly on what is seen:
// in valleys the mesh chord lies above the finer texture, and a trail at the texture height would
// disappear under it.
float mesh_height_at(vec2 uv) {
    vec2 g = clamp(uv, 0.0, 1.0) * u_mesh_cells;
    vec2 cell = min(floor(g), vec2(u_mesh_cells - 1.0));
    vec2 f = g - cell;
    float s = 1.0 / u_mesh_cells;
    vec2 c0 = cell * s;
    float h00 = height_at(c0);
    float h11 = height_at(c0 + vec2(s));
    // each cell is split along its (0,0)-(1,1) diagonal, as in the index buffer
    if (f.x >= f.y) {
        float h10 = height_at(c0 + vec2(s, 0.0));
        return h00 + f.x * (h10 - h00) + f.y * (h11 - h10);
    }
    float h01 = height_at(c0 + vec2(0.0, s));
    return h00 + f.y * (h01 - h00) + f.x * (h11 - h01);
}

vec3 world_from_point(vec4 p) {
    if (p.w > 0.5) {
        return world_from_surface(p.xy, mesh_height_at(p.xy)) + vec3(0.0, 0.0, u_lift);
    }
    return world_from_surface(p.xy, p.z);
}
