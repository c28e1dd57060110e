// assimp's C++ Importer behind a C interface, for one leniency the C API cannot give safely:
// meshes whose primitive-type flags disagree with their faces (assimp 5.2.5's OBJ importer flags a
// two-index `f a b` face as a triangle, and its validation then refuses the whole file, where
// Blender imports such a face as an edge) get their flags recomputed from the faces and are
// validated again. The C API has no safe way to post-process a repaired scene: its
// aiApplyPostProcessing reads the scene after a failed step has deleted it.
#ifndef CASSIMPIMPORT_H
#define CASSIMPIMPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /// Meshes whose primitive-type flags were recomputed from their faces (0 unless the first,
    /// strict import failed on a primitive-type flag).
    unsigned int repaired_meshes;
    /// Point (one-index) and line (two-index) faces of the validated scene, counted before
    /// post-processing drops them (see `remove_primitive_types`); filled even when the import fails.
    unsigned long long points;
    unsigned long long lines;
    /// Meshes with a NaN or infinite vertex position in a face, which assimp's FindInvalidData
    /// step deletes whole (counted before post-processing).
    unsigned int nonfinite_meshes;
} svdmv_import_stats;

/// Imports `path` with assimp's validation (aiProcess_ValidateDataStructure) and then applies
/// `post_processing` (aiProcess_* flags), with the AI_CONFIG_PP_SBP_REMOVE property set to
/// `remove_primitive_types`. When the strict import fails only because a mesh's primitive-type
/// flags disagree with its faces, the file is read again without validation, the flags are
/// recomputed from the faces, and the scene is validated before post-processing.
/// Returns an opaque handle owning the scene, or NULL with a one-line message in `error` (always
/// NUL-terminated when `error_capacity` > 0). Never throws; not thread-safe for one handle.
void *svdmv_assimp_import(const char *path, unsigned int post_processing, int remove_primitive_types,
                          svdmv_import_stats *stats, char *error, size_t error_capacity);

/// The scene of a handle from svdmv_assimp_import (a `const struct aiScene *`), owned by it.
const void *svdmv_assimp_scene(const void *handle);

/// Releases a handle and its scene (NULL is ignored).
void svdmv_assimp_release(void *handle);

#ifdef __cplusplus
}
#endif

#endif
