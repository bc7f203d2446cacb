// Include: pixel-space helpers shared by the screen-space passes.
uniform vec2 u_viewport;        // size of the target viewport in pixels

// Pixels with the origin at the bottom left (GL convention) from clip coordinates.
vec2 clip_to_pixels(vec4 clip) {
    return (clip.xy / clip.w * 0.5 + 0.5) * u_viewport;
}

vec4 pixels_to_clip(vec2 px, float ndc_depth) {
    return vec4(px / u_viewport * 2.0 - 1.0, ndc_depth, 1.0);
}

// Pixels with the origin at the top left (text and panels) to clip coordinates.
vec4 top_left_pixels_to_clip(vec2 px) {
    return vec4(px.x / u_viewport.x * 2.0 - 1.0, 1.0 - px.y / u_viewport.y * 2.0, 0.0, 1.0);
}

// Corners of a quad drawn as a 4-vertex triangle strip, in [-1, 1]^2 (gl_VertexID 0..3).
const vec2 QUAD_CORNERS[4] = vec2[](
    vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(-1.0, 1.0), vec2(1.0, 1.0)
);
