// Small dense linear algebra for the dataset geometry (object centre, up direction), done with
// Eigen behind a C interface so Swift can call it. All matrices are row-major doubles.
#ifndef CEIGENHELPER_H
#define CEIGENHELPER_H

#ifdef __cplusplus
extern "C" {
#endif

/// Least-squares point nearest to `count` lines, line i through origins[3i..3i+2] with direction
/// directions[3i..3i+2] (any length, not zero): minimises sum_i |(I - d_i d_i^T)(p - o_i)|^2 with
/// an optional weight per line (`weights` may be NULL). Writes p to `out` (3 doubles).
/// Returns 0 on success, 1 when the lines are (nearly) parallel or count < 2, 2 on a bad input.
int ceigen_nearest_point_to_lines(const double *origins, const double *directions,
                                  const double *weights, int count, double *out);

/// Eigen decomposition of a symmetric 3x3 matrix `m` (row-major, 9 doubles): eigenvalues in
/// ascending order into `values` (3), unit eigenvectors as the ROWS of `vectors` (9, row k belongs
/// to values[k]). Returns 0 on success, 1 if Eigen reports no convergence.
int ceigen_symmetric_eigen3(const double *m, double *values, double *vectors);

#ifdef __cplusplus
}
#endif

#endif
