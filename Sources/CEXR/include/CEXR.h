// OpenEXR behind a C interface so Swift can read (and, for tests, write) HDR environment maps.
// Pixels are 32-bit float RGBA, interleaved, row 0 = the top row of the data window.
#ifndef CEXR_H
#define CEXR_H

#ifdef __cplusplus
extern "C" {
#endif

/// Reads the R, G, B and A channels of an OpenEXR file (scanline or tiled, any compression) as
/// floats. Missing channels read as 0 (A as 1); a file with luminance/chroma channels (Y, RY, BY)
/// but no R, G, B goes through OpenEXR's RGBA conversion. On success returns 0 and sets
/// `*pixels` (width * height * 4 floats, free with `cexr_free`); on failure returns 1 and writes
/// a one-line reason into `error` (NUL-terminated, at most `error_capacity` bytes).
int cexr_read_rgba(const char *path, int *width, int *height, float **pixels,
                   char *error, int error_capacity);

void cexr_free(float *pixels);

/// Writes width x height RGBA floats (row 0 = top) as an OpenEXR file, ZIP-compressed, with
/// 32-bit float channels when `full_float` is non-zero, else half floats. Returns 0 on success,
/// 1 with a reason in `error` on failure.
int cexr_write_rgba(const char *path, int width, int height, const float *rgba, int full_float,
                    char *error, int error_capacity);

#ifdef __cplusplus
}
#endif

#endif
