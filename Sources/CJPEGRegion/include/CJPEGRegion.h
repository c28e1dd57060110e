// Region decoding of baseline/progressive JPEGs through libjpeg(-turbo)'s own API, which TurboJPEG
// 2.x does not expose: jpeg_crop_scanline (decode only the iMCU columns a crop needs) and
// jpeg_skip_scanlines (no IDCT or colour conversion above the crop), stopping after its last row.
#ifndef CJPEGREGION_H
#define CJPEGREGION_H

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes rows [y0, y1) and at least columns [x0, x1) of the picture scaled by scale_eighths/8
/// (1..8) to RGB. libjpeg widens the columns to iMCU boundaries: *out_x and *out_width give the
/// columns actually written. Rows go to `out` packed at *out_width * 3 bytes each; `out` must hold
/// (scaled width) * (y1 - y0) * 3 bytes. Returns 0 on success, -1 with `message` set on error.
int jpegregion_decode(const unsigned char *data, unsigned long size, int scale_eighths,
                      int x0, int y0, int x1, int y1, unsigned char *out,
                      int *out_x, int *out_width, char *message, int message_length);

#ifdef __cplusplus
}
#endif

#endif
