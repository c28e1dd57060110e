// See include/CAssimpImport.h.
#include "CAssimpImport.h"

#include <assimp/Importer.hpp>
#include <assimp/config.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>

#include <cmath>
#include <cstring>
#include <new>
#include <string>

namespace {

void setError(char *error, size_t capacity, const std::string &message) {
    if (!error || capacity == 0) return;
    std::string line = message.substr(0, message.find('\n'));
    if (line.empty()) line = "cannot import";
    const size_t n = line.size() < capacity - 1 ? line.size() : capacity - 1;
    std::memcpy(error, line.data(), n);
    error[n] = '\0';
}

/// The ValidateDS complaints that recomputing mPrimitiveTypes from the faces fixes, e.g.
/// "aiMesh::mFaces[68] is a LINE but aiMesh::mPrimitiveTypes does not report the LINE flag".
bool isPrimitiveFlagError(const std::string &message) {
    return message.find("mPrimitiveTypes does not report the") != std::string::npos;
}

/// Recomputes each mesh's primitive-type flags from its faces (keeping any flag bits above the
/// four types). Returns how many meshes changed. Faces are only read through mNumIndices; the
/// scene is validated afterwards.
unsigned int repairPrimitiveTypes(aiScene *scene) {
    unsigned int repaired = 0;
    if (!scene->mMeshes) return 0;
    for (unsigned int m = 0; m < scene->mNumMeshes; ++m) {
        aiMesh *mesh = scene->mMeshes[m];
        if (!mesh || !mesh->mFaces) continue;
        unsigned int types = 0;
        for (unsigned int f = 0; f < mesh->mNumFaces; ++f) {
            const unsigned int n = mesh->mFaces[f].mNumIndices;
            if (n == 1) types |= aiPrimitiveType_POINT;
            else if (n == 2) types |= aiPrimitiveType_LINE;
            else if (n == 3) types |= aiPrimitiveType_TRIANGLE;
            else if (n > 3) types |= aiPrimitiveType_POLYGON;
        }
        const unsigned int typeBits = aiPrimitiveType_POINT | aiPrimitiveType_LINE
            | aiPrimitiveType_TRIANGLE | aiPrimitiveType_POLYGON;
        if (types != 0 && (mesh->mPrimitiveTypes & typeBits) != types) {
            mesh->mPrimitiveTypes = (mesh->mPrimitiveTypes & ~typeBits) | types;
            ++repaired;
        }
    }
    return repaired;
}

/// Counts, on a validated scene (indices in range), the point and line faces SortByPType will
/// drop and the meshes FindInvalidData will delete for a NaN or infinite position in a face.
void countBeforePostProcessing(const aiScene *scene, svdmv_import_stats *stats) {
    if (!scene->mMeshes) return;
    for (unsigned int m = 0; m < scene->mNumMeshes; ++m) {
        const aiMesh *mesh = scene->mMeshes[m];
        if (!mesh || !mesh->mFaces) continue;
        bool nonFinite = false;
        for (unsigned int f = 0; f < mesh->mNumFaces; ++f) {
            const aiFace &face = mesh->mFaces[f];
            if (face.mNumIndices == 1) ++stats->points;
            else if (face.mNumIndices == 2) ++stats->lines;
            if (nonFinite || !mesh->mVertices || !face.mIndices) continue;
            for (unsigned int i = 0; i < face.mNumIndices; ++i) {
                const unsigned int v = face.mIndices[i];
                if (v >= mesh->mNumVertices) continue;
                const aiVector3D &p = mesh->mVertices[v];
                if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) nonFinite = true;
            }
        }
        if (nonFinite) ++stats->nonfinite_meshes;
    }
}

}  // namespace

extern "C" void *svdmv_assimp_import(const char *path, unsigned int post_processing, int remove_primitive_types,
                                     svdmv_import_stats *stats, char *error, size_t error_capacity) {
    svdmv_import_stats unused;
    svdmv_import_stats &local = stats ? *stats : unused;  // filled as far as the import got
    local = {0, 0, 0, 0};
    if (error && error_capacity > 0) error[0] = '\0';
    Assimp::Importer *importer = nullptr;
    try {
        importer = new Assimp::Importer();
        importer->SetPropertyInteger(AI_CONFIG_PP_SBP_REMOVE, remove_primitive_types);
        const aiScene *scene = importer->ReadFile(path, aiProcess_ValidateDataStructure);
        bool repairedPath = false;
        if (!scene) {
            const std::string strict = importer->GetErrorString();
            if (!isPrimitiveFlagError(strict)) {
                setError(error, error_capacity, strict);
                delete importer;
                return nullptr;
            }
            // Read again unvalidated (assimp runs only its scene preprocessor on it), repair the
            // flags, and validate before any post-processing step touches the scene.
            scene = importer->ReadFile(path, 0);
            if (!scene) {
                setError(error, error_capacity, importer->GetErrorString());
                delete importer;
                return nullptr;
            }
            local.repaired_meshes = repairPrimitiveTypes(const_cast<aiScene *>(scene));
            repairedPath = true;
        }
        const unsigned int steps = post_processing & ~static_cast<unsigned int>(aiProcess_ValidateDataStructure);
        if (repairedPath) {
            // validation alone first, so the counts below see a validated scene
            scene = importer->ApplyPostProcessing(aiProcess_ValidateDataStructure);
            if (!scene) {
                setError(error, error_capacity, importer->GetErrorString());
                delete importer;
                return nullptr;
            }
        }
        countBeforePostProcessing(scene, &local);
        if (steps != 0) {
            scene = importer->ApplyPostProcessing(steps);
            if (!scene) {
                setError(error, error_capacity, importer->GetErrorString());
                delete importer;
                return nullptr;
            }
        }
        return importer;
    } catch (const std::bad_alloc &) {
        setError(error, error_capacity, "out of memory");
    } catch (const std::exception &e) {
        setError(error, error_capacity, e.what());
    } catch (...) {
        setError(error, error_capacity, "unknown assimp exception");
    }
    delete importer;
    return nullptr;
}

extern "C" const void *svdmv_assimp_scene(const void *handle) {
    return handle ? static_cast<const Assimp::Importer *>(handle)->GetScene() : nullptr;
}

extern "C" void svdmv_assimp_release(void *handle) {
    delete static_cast<Assimp::Importer *>(handle);
}
