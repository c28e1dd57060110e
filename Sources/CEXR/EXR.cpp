// OpenEXR-backed implementations of CEXR.h (OpenEXR 3's C++ API; Debian's libopenexr-dev).
#include "CEXR.h"

#include <ImfChannelList.h>
#include <ImfFrameBuffer.h>
#include <ImfHeader.h>
#include <ImfInputFile.h>
#include <ImfOutputFile.h>
#include <ImfRgbaFile.h>
#include <ImfArray.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {
void setError(char *error, int capacity, const std::string &message) {
    if (error == nullptr || capacity <= 0) return;
    std::string line = message;
    for (char &c : line) if (c == '\n' || c == '\r') c = ' ';
    std::strncpy(error, line.c_str(), static_cast<size_t>(capacity) - 1);
    error[capacity - 1] = '\0';
}
}

extern "C" int cexr_read_rgba(const char *path, int *width, int *height, float **pixels,
                              char *error, int error_capacity) {
    if (path == nullptr || width == nullptr || height == nullptr || pixels == nullptr) {
        setError(error, error_capacity, "bad arguments");
        return 1;
    }
    *pixels = nullptr;
    try {
        Imf::InputFile file(path);
        const Imath::Box2i window = file.header().dataWindow();
        const long w = static_cast<long>(window.max.x) - window.min.x + 1;
        const long h = static_cast<long>(window.max.y) - window.min.y + 1;
        if (w <= 0 || h <= 0 || w > (1 << 16) || h > (1 << 16)) {
            setError(error, error_capacity, "unsupported data window " + std::to_string(w) + "x" + std::to_string(h));
            return 1;
        }
        const Imf::ChannelList &channels = file.header().channels();
        const bool rgb = channels.findChannel("R") || channels.findChannel("G") || channels.findChannel("B");
        float *out = static_cast<float *>(std::malloc(sizeof(float) * 4 * static_cast<size_t>(w) * h));
        if (out == nullptr) {
            setError(error, error_capacity, "out of memory");
            return 1;
        }
        if (rgb) {
            // Slices at the data window's origin: base - (min.x + min.y * w) texels.
            char *base = reinterpret_cast<char *>(out)
                - (static_cast<ptrdiff_t>(window.min.x) + static_cast<ptrdiff_t>(window.min.y) * w) * 4 * sizeof(float);
            const size_t xStride = 4 * sizeof(float), yStride = xStride * static_cast<size_t>(w);
            Imf::FrameBuffer frame;
            const char *names[4] = {"R", "G", "B", "A"};
            for (int c = 0; c < 4; ++c) {
                frame.insert(names[c], Imf::Slice(Imf::FLOAT, base + c * sizeof(float), xStride, yStride, 1, 1,
                                                  c == 3 ? 1.0 : 0.0));
            }
            file.setFrameBuffer(frame);
            file.readPixels(window.min.y, window.max.y);
        } else {
            Imf::RgbaInputFile rgbaFile(path);
            Imf::Array2D<Imf::Rgba> halfs(h, w);
            rgbaFile.setFrameBuffer(&halfs[0][0] - window.min.x - static_cast<ptrdiff_t>(window.min.y) * w, 1, w);
            rgbaFile.readPixels(window.min.y, window.max.y);
            for (long y = 0; y < h; ++y) {
                for (long x = 0; x < w; ++x) {
                    const Imf::Rgba &p = halfs[y][x];
                    float *o = out + 4 * (y * w + x);
                    o[0] = p.r; o[1] = p.g; o[2] = p.b; o[3] = p.a;
                }
            }
        }
        *width = static_cast<int>(w);
        *height = static_cast<int>(h);
        *pixels = out;
        return 0;
    } catch (const std::exception &e) {
        setError(error, error_capacity, e.what());
        return 1;
    } catch (...) {
        setError(error, error_capacity, "unknown OpenEXR error");
        return 1;
    }
}

extern "C" void cexr_free(float *pixels) { std::free(pixels); }

extern "C" int cexr_write_rgba(const char *path, int width, int height, const float *rgba, int full_float,
                               char *error, int error_capacity) {
    if (path == nullptr || rgba == nullptr || width <= 0 || height <= 0) {
        setError(error, error_capacity, "bad arguments");
        return 1;
    }
    try {
        Imf::Header header(width, height);
        header.compression() = Imf::ZIP_COMPRESSION;
        const Imf::PixelType type = full_float ? Imf::FLOAT : Imf::HALF;
        const char *names[4] = {"R", "G", "B", "A"};
        for (const char *name : names) header.channels().insert(name, Imf::Channel(type));
        // Half channels need half data: convert into a side buffer.
        std::vector<Imath::half> halfs;
        Imf::FrameBuffer frame;
        if (full_float) {
            for (int c = 0; c < 4; ++c) {
                frame.insert(names[c], Imf::Slice(Imf::FLOAT, (char *)(rgba + c), 4 * sizeof(float),
                                                  4 * sizeof(float) * static_cast<size_t>(width)));
            }
        } else {
            halfs.resize(4 * static_cast<size_t>(width) * height);
            for (size_t i = 0; i < halfs.size(); ++i) halfs[i] = Imath::half(rgba[i]);
            for (int c = 0; c < 4; ++c) {
                frame.insert(names[c], Imf::Slice(Imf::HALF, (char *)(halfs.data() + c), 4 * sizeof(Imath::half),
                                                  4 * sizeof(Imath::half) * static_cast<size_t>(width)));
            }
        }
        Imf::OutputFile file(path, header);
        file.setFrameBuffer(frame);
        file.writePixels(height);
        return 0;
    } catch (const std::exception &e) {
        setError(error, error_capacity, e.what());
        return 1;
    } catch (...) {
        setError(error, error_capacity, "unknown OpenEXR error");
        return 1;
    }
}
