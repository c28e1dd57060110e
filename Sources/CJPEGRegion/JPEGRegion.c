// libjpeg region decoding; errors longjmp back here and come out as messages, never exits.
#include "CJPEGRegion.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>

struct region_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr cinfo) {
    struct region_error *e = (struct region_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->text);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo) { (void)cinfo; }  // warnings: keep decoding

static void copy_message(const char *text, char *message, int message_length) {
    if (message && message_length > 0) {
        strncpy(message, text, (size_t)message_length - 1);
        message[message_length - 1] = 0;
    }
}

int jpegregion_decode(const unsigned char *data, unsigned long size, int scale_eighths,
                      int x0, int y0, int x1, int y1, unsigned char *out,
                      int *out_x, int *out_width, char *message, int message_length) {
    struct jpeg_decompress_struct cinfo;
    struct region_error err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.output_message = on_message;
    if (setjmp(err.jump)) {
        copy_message(err.text, message, message_length);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    cinfo.scale_num = (unsigned int)scale_eighths;
    cinfo.scale_denom = 8;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    int width = (int)cinfo.output_width, height = (int)cinfo.output_height;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > width) x1 = width;
    if (y1 > height) y1 = height;
    if (x1 <= x0 || y1 <= y0) {
        copy_message("empty region", message, message_length);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    JDIMENSION xoffset = (JDIMENSION)x0, cropped = (JDIMENSION)(x1 - x0);
    if (cropped < (JDIMENSION)width) jpeg_crop_scanline(&cinfo, &xoffset, &cropped);
    else xoffset = 0, cropped = (JDIMENSION)width;
    if (y0 > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)y0);
    while ((int)cinfo.output_scanline < y1) {
        JSAMPROW row = out + (size_t)((int)cinfo.output_scanline - y0) * cropped * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    *out_x = (int)xoffset;
    *out_width = (int)cropped;
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
