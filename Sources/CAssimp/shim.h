// assimp's C API: aiImportFile / aiReleaseImport and the scene structs.
#include <assimp/cimport.h>
#include <assimp/scene.h>
#include <assimp/postprocess.h>
#include <assimp/material.h>
