// Eigen-backed implementations of CEigenHelper.h.
#include "CEigenHelper.h"

#include <Eigen/Dense>
#include <cmath>

extern "C" int ceigen_nearest_point_to_lines(const double *origins, const double *directions,
                                             const double *weights, int count, double *out) {
    if (count < 2 || origins == nullptr || directions == nullptr || out == nullptr) return count < 2 ? 1 : 2;
    Eigen::Matrix3d a = Eigen::Matrix3d::Zero();
    Eigen::Vector3d b = Eigen::Vector3d::Zero();
    for (int i = 0; i < count; ++i) {
        Eigen::Vector3d o(origins[3 * i], origins[3 * i + 1], origins[3 * i + 2]);
        Eigen::Vector3d d(directions[3 * i], directions[3 * i + 1], directions[3 * i + 2]);
        double n = d.norm();
        if (!(n > 0) || !std::isfinite(n) || !o.allFinite()) return 2;
        d /= n;
        double w = weights ? weights[i] : 1.0;
        Eigen::Matrix3d p = Eigen::Matrix3d::Identity() - d * d.transpose();
        a += w * p;
        b += w * p * o;
    }
    // The normal matrix is positive semi-definite; it is singular when all lines are parallel.
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> solver(a);
    if (solver.info() != Eigen::Success) return 1;
    double smallest = solver.eigenvalues()(0), largest = solver.eigenvalues()(2);
    if (!(largest > 0) || smallest < 1e-9 * largest) return 1;
    Eigen::Vector3d p = a.ldlt().solve(b);
    if (!p.allFinite()) return 1;
    out[0] = p(0); out[1] = p(1); out[2] = p(2);
    return 0;
}

extern "C" int ceigen_symmetric_eigen3(const double *m, double *values, double *vectors) {
    Eigen::Matrix3d a;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) a(r, c) = m[3 * r + c];
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> solver(a);
    if (solver.info() != Eigen::Success) return 1;
    for (int k = 0; k < 3; ++k) {
        values[k] = solver.eigenvalues()(k);
        for (int c = 0; c < 3; ++c) vectors[3 * k + c] = solver.eigenvectors()(c, k);
    }
    return 0;
}
