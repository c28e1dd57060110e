// libpng's simplified API (png_image_*), enough for 8- and 16-bit gray/RGB/RGBA files.
#include <png.h>
#include <zlib.h>
