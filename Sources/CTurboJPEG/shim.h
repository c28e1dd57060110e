// libjpeg-turbo's TurboJPEG API (tjDecompress2 / tjCompress2).
#include <turbojpeg.h>
