"""Where should the next service points go? Maximal covering and set covering, solved exactly.

* **MCLP** (maximal covering location problem, Church & ReVelle 1974): choose ``p`` new sites
  among candidates to maximise the demand weight (people, children …) within the service
  radius of a point, counting demand already covered by existing points as covered.
* **Set cover** (location set covering problem, Toregas et al. 1971): the fewest new sites
  that cover every coverable demand unit.

The numeric core works on a sparse demand × candidate coverage matrix and solves a MILP with
HiGHS (``highspy``), after exact reductions: demand with no weight or no candidate is dropped,
demand units covered by the same set of candidates are merged (weights summed), and candidates
that cover nothing are dropped. Past the time limit the best solution found is returned with its
optimality gap; if the solver found none, a greedy solution is returned with its bound.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

__all__ = [
    "SitingPlan",
    "SitingResult",
    "coverage_matrix",
    "greedy_maximal_covering",
    "maximal_covering",
    "read_candidates",
    "set_cover",
    "site_new_points",
]

log = logging.getLogger(__name__)


@dataclass
class SitingResult:
    """Outcome of a siting model.

    ``selected`` are candidate indices in order of marginal gain (the first adds the most);
    ``objective`` is the covered weight (MCLP) or the number of sites (set cover);
    ``bound`` the best proven bound; ``gap`` the relative optimality gap (0 when optimal);
    ``method`` "milp" or "greedy"; ``status`` the solver's word.
    """

    selected: list[int]
    objective: float
    bound: float
    gap: float
    method: str
    status: str
    seconds: float
    gains: list[float] = field(default_factory=list)
    reduced_size: tuple[int, int] = (0, 0)

    @property
    def optimal(self) -> bool:
        return self.method == "milp" and self.gap <= 1e-9


def coverage_matrix(demand_xy: np.ndarray, candidate_xy: np.ndarray, radius: float) -> sp.csr_matrix:
    """Boolean sparse matrix: demand i is within ``radius`` of candidate j (projected units).

    Coordinates are (n, 2), or (n, 3) with a third axis that keeps groups apart
    (:func:`coverage.access.stack_groups`: land masses, counties).

    Parameters
    ----------
    demand_xy : array (n_demand, 2 or 3)
        Demand points (e.g. villages), projected metres.
    candidate_xy : array (n_candidates, 2 or 3)
        Candidate sites, same axes as ``demand_xy``.
    radius : float
        Distance within which a candidate covers a demand point (inclusive), same units.

    Returns
    -------
    scipy.sparse.csr_matrix (n_demand × n_candidates), bool
        ``[i, j]`` is True when candidate j covers demand i, coincident points included.
    """
    import numpy as np
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    demand_xy, candidate_xy = np.asarray(demand_xy, dtype=float), np.asarray(candidate_xy, dtype=float)
    k = demand_xy.shape[-1] if demand_xy.ndim == 2 else candidate_xy.shape[-1] if candidate_xy.ndim == 2 else 2
    demand_xy, candidate_xy = demand_xy.reshape(-1, k), candidate_xy.reshape(-1, k)
    if not len(demand_xy) or not len(candidate_xy):
        return sp.csr_matrix((len(demand_xy), len(candidate_xy)), dtype=bool)
    pairs = cKDTree(demand_xy).sparse_distance_matrix(cKDTree(candidate_xy), radius, output_type="coo_matrix")
    # sparse_distance_matrix omits zero distances (coincident points): add them back
    mat = sp.csr_matrix((np.ones(pairs.nnz, dtype=bool), (pairs.row, pairs.col)), shape=pairs.shape)
    same = cKDTree(candidate_xy).query_ball_point(demand_xy, r=0.0)
    rows = np.repeat(np.arange(len(demand_xy)), [len(s) for s in same])
    if len(rows):
        cols = np.concatenate([np.asarray(s, dtype=int) for s in same if len(s)])
        mat = mat + sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=mat.shape)
    return mat.astype(bool).tocsr()


def _merge_rows(cover: sp.csr_matrix, weights: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge demand rows covered by the same candidate set, summing their weights."""
    import numpy as np

    cover.sort_indices()
    keys = [cover.indices[cover.indptr[i]:cover.indptr[i + 1]].tobytes() for i in range(cover.shape[0])]
    group: dict[bytes, int] = {}
    label = np.fromiter((group.setdefault(k, len(group)) for k in keys), dtype=np.int64, count=len(keys))
    merged = np.bincount(label, weights=weights, minlength=len(group))
    first = np.full(len(group), -1, dtype=np.int64)
    first[label[::-1]] = np.arange(len(label))[::-1]
    return cover[first].tocsr(), merged


def _dominated(cover: sp.csr_matrix, fixed: np.ndarray) -> np.ndarray:
    """Candidates without fixed gain whose covered rows are a subset of another's.

    Ties (equal sets) keep the lowest index. Dropping them keeps an optimum as long as at least
    ``p`` candidates remain: swap a dominated site for its dominator, or, when the dominator is
    already open, for any unused site (the dominated site then adds nothing). A candidate with
    a fixed gain (demand only it covers) is never dropped: open beside its "dominator" it still
    adds that gain, which an arbitrary unused site need not match.
    """
    import numpy as np

    csc = cover.tocsc().astype(np.int32)
    size = np.diff(csc.indptr)
    overlap = (csc.T @ csc).tocoo()
    i, j, n = overlap.row, overlap.col, overlap.data
    subset = (i != j) & (n == size[i]) & (fixed[i] <= 0)
    strict = (size[i] < size[j]) | (fixed[j] > 0) | (i > j)
    out = np.zeros(cover.shape[1], dtype=bool)
    out[i[subset & strict]] = True
    return out


def _reduce(
    cover: sp.spmatrix, weights: np.ndarray, p: int, fixed: np.ndarray | None = None
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Exact reductions of an MCLP instance.

    Repeats until nothing changes: drop demand without weight or candidate; fold demand that
    only one candidate covers into that candidate's fixed gain; merge identical demand rows;
    drop dominated candidates (while more than ``p`` remain).

    Returns the reduced matrix, its row weights, the fixed gain of each kept candidate and the
    kept candidates' original indices.
    """
    import numpy as np
    import scipy.sparse as sp

    cover = sp.csr_matrix(cover, dtype=bool)
    w = np.asarray(weights, dtype=float)
    cols = np.arange(cover.shape[1])
    fixed = np.zeros(cover.shape[1]) if fixed is None else np.asarray(fixed, dtype=float).copy()
    while True:
        shape = cover.shape
        count = np.diff(cover.indptr)
        keep = (w > 0) & (count > 0)
        single = keep & (count == 1)
        if single.any():
            fixed += np.bincount(cover[single].indices, weights=w[single], minlength=cover.shape[1])
        keep &= ~single
        cover, w = cover[keep].tocsr(), w[keep]
        useful = (np.diff(cover.tocsc().indptr) > 0) | (fixed > 0)
        cover, cols, fixed = cover[:, useful].tocsr(), cols[useful], fixed[useful]
        cover, w = _merge_rows(cover, w)
        if cover.shape[1] > p:
            drop = _dominated(cover, fixed)
            # keep at least p candidates, preferring the largest
            if (~drop).sum() < p:
                drop[np.argsort(-(np.asarray(cover.sum(axis=0)).ravel() + fixed))[:p]] = False
            cover, cols, fixed = cover[:, ~drop].tocsr(), cols[~drop], fixed[~drop]
        if cover.shape == shape:
            return cover, w, fixed, cols


@contextlib.contextmanager
def _quiet_stdout():
    """HiGHS prints a banner from C++ when constructed; keep the CLI's stdout clean."""
    try:
        fd = os.dup(1)
    except OSError:  # pragma: no cover - no real stdout
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(fd, 1)
            os.close(fd)


@dataclass
class _Solve:
    status: str
    values: np.ndarray | None
    objective: float
    bound: float
    duals: np.ndarray | None = None


def _highs(
    cost, integrality, a_csc, row_lower, row_upper, col_upper, time_limit: float,
    *, start: np.ndarray | None = None, options: dict | None = None,
) -> _Solve:
    """Solve min cost·x over the rows/bounds with HiGHS (an LP when ``integrality`` is None)."""
    import highspy
    import numpy as np

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(os.environ.get("SAFETYNET_SOLVER_LOG")))
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", 1)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a_csc.shape[1], a_csc.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.asarray(col_upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = a_csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a_csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = a_csc.data.astype(float)
    if integrality is not None:
        lp.integrality_ = integrality
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, start))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
    solution = h.getSolution()
    values = np.asarray(solution.col_value) if feasible else None
    duals = np.asarray(solution.col_dual) if integrality is None and feasible else None
    bound = info.mip_dual_bound if integrality is not None else info.objective_function_value
    return _Solve(status, values, info.objective_function_value, bound, duals)


def _mclp_model(cover: sp.csr_matrix, w: np.ndarray, fixed: np.ndarray, p: int, integer: bool = True):
    """HiGHS arrays of the MCLP: x_j sites (binary), y_i demand covered (continuous in [0, 1]).

    Rows: y_i − Σ_{j ∈ N_i} x_j ≤ 0 for each demand unit; Σ_j x_j = p. Objective: minimise
    −(Σ_i w_i y_i + Σ_j fixed_j x_j).
    """
    import highspy
    import numpy as np
    import scipy.sparse as sp

    k, m = cover.shape
    a = sp.vstack([
        sp.hstack([-cover.astype(float), sp.identity(k, format="csr")]),
        sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, k))]),
    ]).tocsc()
    integrality = (
        [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * k if integer else None
    )
    return dict(
        cost=np.concatenate([-fixed, -w]),
        integrality=integrality,
        a_csc=a,
        row_lower=np.concatenate([np.full(k, -np.inf), [p]]),
        row_upper=np.concatenate([np.zeros(k), [p]]),
        col_upper=np.ones(m + k),
    )


def _mclp_start(cover: sp.csr_matrix, chosen: np.ndarray) -> np.ndarray:
    import numpy as np

    x = np.zeros(cover.shape[1] + cover.shape[0])
    x[chosen] = 1.0
    x[cover.shape[1]:] = np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0
    return x


def greedy_maximal_covering(cover: sp.csr_matrix, weights: np.ndarray, p: int) -> tuple[list[int], list[float]]:
    """Greedy MCLP: repeatedly add the candidate with the largest newly covered weight.

    Within a factor (1 − 1/e) of the optimum (Nemhauser, Wolsey & Fisher 1978).

    Parameters
    ----------
    cover : sparse matrix (n_demand × n_candidates), bool
        ``cover[i, j]``: candidate j would cover demand i.
    weights : array (n_demand,)
        Demand weight, e.g. people.
    p : int
        Most candidates chosen; fewer when no candidate adds weight.

    Returns
    -------
    chosen : list of int
        Candidate indices in the order they were added.
    gains : list of float
        Weight each one newly covered.
    """
    import numpy as np

    csc = cover.tocsc()
    remaining = np.asarray(weights, dtype=float).copy()
    chosen: list[int]
    chosen, gains = [], []
    for _ in range(min(p, cover.shape[1])):
        gain = csc.T @ remaining
        if chosen:
            gain[chosen] = -1
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        gains.append(float(gain[j]))
        remaining[csc.indices[csc.indptr[j]:csc.indptr[j + 1]]] = 0.0
    return chosen, gains


def _order_by_gain(cover: sp.csr_matrix, weights: np.ndarray, chosen: list[int]) -> tuple[list[int], list[float]]:
    """Order a chosen set greedily (largest marginal gain first) for a readable ranking."""

    sub = cover[:, chosen]
    order, gains = greedy_maximal_covering(sub, weights, len(chosen))
    rest = [k for k in range(len(chosen)) if k not in order]
    return [chosen[k] for k in order + rest], gains + [0.0] * len(rest)


def maximal_covering(
    cover: sp.spmatrix,
    weights: np.ndarray,
    p: int,
    *,
    time_limit: float = 60.0,
) -> SitingResult:
    """Choose ``p`` candidates maximising the covered demand weight (MCLP).

    Parameters
    ----------
    cover : sparse matrix (n_demand × n_candidates), bool
        ``cover[i, j]``: candidate j would cover demand i. Demand already covered by existing
        points should be given weight 0 (or left out).
    weights : array (n_demand,)
        Demand weight, e.g. people.
    p : int
        Number of new sites.
    time_limit : float
        Seconds for the MILP; past it the incumbent is returned with its gap, or greedy.

    Returns
    -------
    SitingResult
        The chosen candidates in order of marginal gain, the covered weight, its bound and gap.

    Raises
    ------
    ValueError
        ``p`` is negative.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
    >>> r = maximal_covering(cover, np.array([5, 1, 1, 5]), p=2)
    >>> sorted(r.selected), r.objective, r.optimal
    ([0, 2], 12.0, True)
    """
    import numpy as np
    import scipy.sparse as sp

    t0 = time.perf_counter()
    n_cand = cover.shape[1]
    if p < 0:
        raise ValueError(f"p must be >= 0, got {p}")
    red, w, fixed, cols = _reduce(cover, weights, p)
    k, m = red.shape
    if p == 0 or m == 0:
        chosen = list(range(min(p, n_cand)))  # nothing to gain: any sites do
        return SitingResult(chosen, 0.0, 0.0, 0.0, "milp", "nothing to cover", time.perf_counter() - t0,
                            [0.0] * len(chosen), (k, m))
    if p >= m:  # enough sites to open every useful candidate
        chosen = [int(c) for c in cols]
        sel, gains = _order_by_gain(sp.csr_matrix(cover, dtype=bool), np.asarray(weights, float), chosen)
        total = float(w.sum() + fixed.sum())
        return SitingResult(sel, total, total, 0.0, "milp", "all useful candidates", time.perf_counter() - t0,
                            gains, (k, m))
    full_cover = sp.csr_matrix(cover, dtype=bool)
    full_w = np.asarray(weights, dtype=float)
    solved = _mclp_solve(red, w, fixed, p, t0 + time_limit)
    if isinstance(solved, str):  # the relaxation or the restricted MILP failed
        return _greedy_result(full_cover, full_w, p, t0, solved, (k, m))
    chosen, status, bound, upper = solved
    sel, gains = _order_by_gain(full_cover, full_w, [int(cols[j]) for j in chosen])
    objective = float(sum(gains))
    bound = max(min(bound, upper), objective)
    if bound - objective <= 1e-12 * max(1.0, abs(bound)):  # the same number summed in another order
        bound = objective
    gap = (bound - objective) / bound if bound > 0 else 0.0
    if gap > 1e-9:
        log.warning("MCLP stopped (%s) with optimality gap %.3f%%", status, 100 * gap)
    return SitingResult(sel, objective, bound, gap, "milp", status, time.perf_counter() - t0, gains, (k, m))


# HiGHS options for the MILPs of :func:`_mclp_solve`, which always start from a near-optimal incumbent:
# HiGHS's primal heuristics (sub-MIPs, feasibility jump) and restarts then only cost time (on the
# 7,701 × 1,500 benchmark they took three quarters of the final MILP). The restricted MILP is also
# solved without presolve and with a small cut pool: its root cut loop was most of its time.
_MIP_PROOF = {
    "mip_allow_restart": False,
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
}
_MIP_RESTRICTED = {**_MIP_PROOF, "presolve": "off", "mip_pool_soft_limit": 200}


def _mclp_solve(red, w, fixed, p: int, deadline: float):
    """Solve a reduced MCLP in three steps; ``(chosen columns, status, bound, LP bound)``, or the status of
    the step that failed.

    1. LP relaxation: an upper bound U, reduced costs d_j and the LP solution x*.
    2. Incumbent L: the MILP restricted to the LP support with the candidates at x*_j = 1 kept open
       (a heuristic: it is small, and on the benchmark it holds the optimum).
    3. Reduced-cost fixing: a solution opening j is worth at most U − d_j, so candidates with
       U − d_j < L cannot be in a better solution; the rest go to the final MILP, started from L,
       which proves the optimum.
    """
    import numpy as np

    m = red.shape[1]
    lp = _highs(**_mclp_model(red, w, fixed, p, integer=False), time_limit=deadline - time.perf_counter(),
                options={"solver": "ipm"})
    if lp.values is None or lp.duals is None:
        log.warning("MCLP relaxation failed (%s); using greedy", lp.status)
        return lp.status
    upper = -lp.objective
    xs, dj = lp.values[:m], lp.duals[:m]
    incumbent, status = _mclp_incumbent(red, w, fixed, p, xs, deadline)
    if incumbent is None:
        return status
    lower = _covered(red, w, fixed, incumbent)
    tol = 1e-9 * max(1.0, abs(upper))
    # a better solution covers more than ``lower``: at least lower + 1 when every weight is a whole number
    better = lower + 1.0 - 1e-3 if _whole(w) and _whole(fixed) else lower - tol
    lam = np.clip(w + lp.duals[m:], 0.0, w)  # the LP's row duals, from the reduced costs of the y_i
    priced = (upper - dj >= lower - tol) & (_lagrangian_bounds(red, w, fixed, p, lam) >= better)
    free = np.union1d(np.flatnonzero(priced), incumbent)
    if len(free) == len(incumbent) or upper < better or lower >= upper - tol:  # nothing can do better: optimal
        return incumbent, "Optimal", lower, upper
    fin_red, fin_w, fin_fixed, fin_cols = _reduce(red[:, free], w, p, fixed[free])
    start_cols = np.flatnonzero(np.isin(free[fin_cols], incumbent))
    fin = _highs(
        **_mclp_model(fin_red, fin_w, fin_fixed, p),
        time_limit=deadline - time.perf_counter(),
        start=_mclp_start(fin_red, start_cols) if len(start_cols) == p else None,
        options=_MIP_PROOF,
    )
    chosen = incumbent
    if fin.values is not None and -fin.objective >= lower - tol:
        chosen = free[fin_cols[np.flatnonzero(fin.values[: len(fin_cols)] > 0.5)]]
    return chosen, fin.status, (-fin.bound if np.isfinite(fin.bound) else upper), upper


def _whole(values) -> bool:
    """Whether every value is a whole number (then so is every covered weight)."""
    import numpy as np

    return bool(np.all(np.mod(values, 1.0) == 0.0))


def _lagrangian_bounds(cover, w, fixed, p: int, lam):
    """Upper bound on the covered weight of any p sites that include candidate j, for each j.

    For any multipliers 0 ≤ λ_i ≤ w_i on the rows y_i ≤ Σ_{j ∈ N_i} x_j, the covered weight of a choice S
    is at most Σ_i (w_i − λ_i) + Σ_{j ∈ S} c_j with c_j = fixed_j + Σ_{i ∈ N_j} λ_i; with j forced into S the
    best S takes the p − 1 largest other c. Valid whatever λ is (the LP's duals make it tightest), so a
    candidate whose bound is below a known solution cannot be in a better one.
    """
    import numpy as np

    lam = np.clip(np.asarray(lam, dtype=float), 0.0, w)
    c = fixed + cover.T.astype(float) @ lam
    top = np.sort(c)[::-1]
    base = float(np.sum(w - lam)) + float(top[:p].sum())
    return base - np.maximum(0.0, top[p - 1] - c)


def _covered(cover, w, fixed, chosen) -> float:
    """Weight covered by the columns ``chosen`` of a reduced instance, their fixed gains included."""
    import numpy as np

    chosen = np.asarray(chosen, dtype=np.int64)
    hit = np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0
    return float(w[hit].sum() + fixed[chosen].sum())


def _mclp_incumbent(red, w, fixed, p: int, xs, deadline: float):
    """``(p columns, status)``: the best choice that keeps the LP's integral candidates (x*_j = 1) and
    takes the other ``p − #ones`` among its fractional ones, by a small MILP; ``(None, status)`` when
    that MILP found nothing in time."""
    import numpy as np

    ones = np.flatnonzero(xs > 1 - 1e-6)
    frac = np.flatnonzero((xs > 1e-6) & (xs <= 1 - 1e-6))
    ones = ones[np.argsort(-xs[ones], kind="stable")][:p]
    q = p - len(ones)
    if q == 0 or len(frac) == 0:
        rest = np.setdiff1d(np.argsort(-xs, kind="stable"), ones, assume_unique=True)[:q]
        return np.sort(np.concatenate([ones, rest])).astype(np.int64), "Optimal"
    hit = np.asarray(red[:, ones].sum(axis=1)).ravel() > 0
    sub_red, sub_w, sub_fixed, sub_cols = _reduce(red[~hit][:, frac], w[~hit], q, fixed[frac])
    if sub_red.shape[1] <= q:  # every useful fractional candidate fits
        picked = frac[sub_cols]
    else:
        sub = _highs(**_mclp_model(sub_red, sub_w, sub_fixed, q), time_limit=deadline - time.perf_counter(),
                     options=_MIP_RESTRICTED)
        if sub.values is None:
            return None, sub.status
        picked = frac[sub_cols[np.flatnonzero(sub.values[: len(sub_cols)] > 0.5)]]
    # fill up to p with the largest remaining LP values (they add nothing, but p sites are asked for)
    rest = np.setdiff1d(np.argsort(-xs, kind="stable"), np.concatenate([ones, picked]), assume_unique=True)
    chosen = np.concatenate([ones, picked, rest[: max(q - len(picked), 0)]])
    return np.sort(chosen).astype(np.int64), "Optimal"


def _greedy_result(cover, weights, p, t0, status, size) -> SitingResult:
    sel, gains = greedy_maximal_covering(cover, weights, p)
    objective = float(sum(gains))
    bound = objective / (1 - 1 / math.e)
    gap = (bound - objective) / bound if bound else 0.0
    return SitingResult(sel, objective, bound, gap, "greedy", status, time.perf_counter() - t0, gains, size)


def set_cover(cover: sp.spmatrix, *, time_limit: float = 60.0) -> SitingResult:
    """Fewest candidates so that every coverable demand unit is covered (LSCP).

    Demand units no candidate can cover are ignored (report them separately).

    Parameters
    ----------
    cover : sparse matrix (n_demand × n_candidates), bool
        ``cover[i, j]``: candidate j would cover demand i.
    time_limit : float
        Seconds for the MILP; past it the incumbent is returned with its gap.

    Returns
    -------
    SitingResult
        The chosen candidates in order of marginal gain; ``objective`` is their number.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=bool))
    >>> r = set_cover(cover)
    >>> r.selected, r.objective
    ([1], 1.0)
    """
    import highspy
    import numpy as np
    import scipy.sparse as sp

    t0 = time.perf_counter()
    ones = np.ones(cover.shape[0])
    cover = sp.csr_matrix(cover, dtype=bool)
    live = np.diff(cover.indptr) > 0
    red, _ = _merge_rows(cover[live].tocsr(), ones[live])
    cols = np.flatnonzero(np.diff(red.tocsc().indptr) > 0)
    red = red[:, cols].tocsr()
    k, m = red.shape
    if k == 0:
        return SitingResult([], 0.0, 0.0, 0.0, "milp", "nothing to cover", time.perf_counter() - t0, [], (0, 0))
    res = _highs(
        cost=np.ones(m),
        integrality=[highspy.HighsVarType.kInteger] * m,
        a_csc=red.astype(float).tocsc(),
        row_lower=np.ones(k),
        row_upper=np.full(k, np.inf),
        col_upper=np.ones(m),
        time_limit=time_limit,
    )
    status, values, bound = res.status, res.values, res.bound
    full = sp.csr_matrix(cover, dtype=bool)
    if values is None:  # pragma: no cover - HiGHS always finds a cover for a feasible LSCP quickly
        chosen, _ = greedy_maximal_covering(full, ones, m)
        return SitingResult(chosen, float(len(chosen)), float(math.ceil(bound)) if math.isfinite(bound) else 0.0,
                            0.0, "greedy", status, time.perf_counter() - t0, [], (k, m))
    chosen = [int(cols[j]) for j in np.flatnonzero(values > 0.5)]
    sel, gains = _order_by_gain(full, ones, chosen)
    lower = math.ceil(bound - 1e-9) if math.isfinite(bound) else len(sel)
    gap = (len(sel) - lower) / len(sel) if sel else 0.0
    return SitingResult(sel, float(len(sel)), float(lower), gap, "milp", status, time.perf_counter() - t0, gains,
                        (k, m))


@dataclass
class SitingPlan:
    """Recommended new sites for one county and category, with before/after figures."""

    sites: pd.DataFrame  # rank, towncode, county, township, village, lon, lat, gain, newly_covered_townships
    summary: dict
    result: SitingResult


def read_candidates(path, *, category: str, townships, xy_datum: str = "TWD97"):
    """Candidate sites from a registry-format file, for siting points of ``category``.

    A file whose category column is missing or blank throughout is read with every candidate
    taken as ``category`` (and a note says so). Otherwise the rows of other categories are left
    out (noted); rows with a blank category among others are rejected, as in a registry.

    Parameters
    ----------
    path : str or Path
        A registry-format file (CSV, XLSX, GeoPackage …) of candidate sites.
    category : str
        Canonical category key the sites are for.
    townships : GeoDataFrame
        Boundaries the sites are located in (:func:`coverage.load_townships`).
    xy_datum : str
        Datum of projected x/y columns, as for :func:`coverage.read_facilities`.

    Returns
    -------
    candidates : GeoDataFrame
        Accepted candidates, as :attr:`coverage.facilities.Registry.facilities`.
    rejected : DataFrame
        The rejection table (:data:`coverage.rejections.REJECTED_COLUMNS`, rows as numbered in the file).
    notes : list of str
        What was assumed or left out.

    Raises
    ------
    InputError
        The file has categories but none is ``category``.
    """
    import csv
    import tempfile
    from pathlib import Path

    from .errors import InputError
    from .facilities import read_facilities
    from .tabular import EXTRA_CELLS, read_table

    path = Path(path)
    table = read_table(path)
    notes: list[str] = []
    if len(table) and (table["category"] == "").all():
        notes.append(f"{path.name} has no category (類別) column or values: every candidate is taken as {category}")
        cols = [c for c in table.columns if c != EXTRA_CELLS]
        extra = table[EXTRA_CELLS].to_numpy() if EXTRA_CELLS in table else [""] * len(table)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / f"{path.stem}.csv"
            with open(copy, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(cols)
                for cells, more in zip(table[cols].assign(category=category).itertuples(index=False), extra,
                                       strict=True):
                    out.writerow([*cells, more] if more else list(cells))  # keep a too-long row too long
            reg = read_facilities([copy], townships=townships, xy_datum=xy_datum)
        rows = table.index.to_numpy(dtype="int64")  # line 2 of the copy is the table's first row

        def back(frame):
            return frame.assign(file=path.name, row=rows[frame["row"].to_numpy(dtype="int64") - 2])

        return back(reg.facilities), back(reg.rejected), notes
    reg = read_facilities([path], townships=townships, xy_datum=xy_datum)
    fac = reg.facilities
    mine = (fac["category"] == category).to_numpy()
    if len(fac) and not mine.any():
        found = "、".join(sorted(set(fac["category"].astype(str))))
        raise InputError(f"{path.name}: no candidate of category {category!r}; the file's categories are {found} "
                         "(leave the category column out to take every candidate as the requested one)")
    if (~mine).any():
        notes.append(f"{path.name}: {int((~mine).sum())} candidates of other categories left out")
    return fac[mine], reg.rejected, notes


def _village_points(vill, lands):
    """The county's villages as points for :func:`coverage.access.nearest_facility` (as the report places people)."""
    import numpy as np
    import pandas as pd

    from .access import land_of
    from .geography import PROJECTED_CRS

    pts = vill.geometry.to_crs(PROJECTED_CRS).representative_point()
    return pd.DataFrame({"code": vill["villcode"].to_numpy(), "x": pts.x.to_numpy(), "y": pts.y.to_numpy(),
                         "land": land_of(np.asarray(pts.values), lands), "county": vill["county"].to_numpy()})


def _candidate_villages(cand, villages) -> list[str]:
    """Village of each candidate: located for point candidates, else the file's own village column."""
    import pandas as pd

    from .geography import locate_points

    own = cand["village"].fillna("").astype(str) if "village" in cand else pd.Series("", index=cand.index)
    if "precision" not in cand:
        point = pd.Series(True, index=cand.index)
    else:
        point = cand["precision"].astype(str) != "township"
    name_of = dict(zip(villages["villcode"], villages["village"], strict=True))
    code = locate_points(cand, villages, key="villcode")["villcode"]
    located = code.map(name_of).astype(object)
    return [loc if p and isinstance(loc, str) and loc else o
            for loc, p, o in zip(located, point, own, strict=True)]


def site_new_points(
    facilities,
    townships,
    villages,
    *,
    county: str,
    category: str,
    new: int | None,
    radius_km: float = 5.0,
    objective: str = "population",
    population=None,
    candidates=None,
    as_of: object = None,
    time_limit: float = 60.0,
    across_counties: bool = False,
    cross_sea: bool = False,
    network=None,
    radius_min: float | None = None,
    access_kmh: float = 15.0,
) -> SitingPlan:
    """Where to put ``new`` points of ``category`` in ``county``, existing points kept.

    Parameters
    ----------
    facilities : GeoDataFrame
        Accepted facilities (points in EPSG:4326); those of ``category`` open on ``as_of`` stay.
    townships, villages : GeoDataFrame
        :func:`coverage.load_townships` and :func:`coverage.load_villages`.
    county, category : str
        Official county name and canonical category key.
    new : int or None
        Number of new points. ``None`` with ``objective="townships"`` asks for the fewest
        points that leave no township uncovered (set cover).
    radius_km : float
        Service radius for the population objectives (straight line, TWD97; on the same land
        mass unless ``cross_sea``).
    objective : {"population", "children", "townships"}
        ``population``/``children``: maximise people (of ``population``) within the radius of
        a point (MCLP). ``townships``: maximise newly covered townships, presence definition,
        the figure counties report; ties go to more populous townships and, within a
        township, to the site reaching the most people.
    population : Series, optional
        People per village, indexed by ``villcode`` (the age group of the objective). Without
        it no people figure is computed: the sites have no ``people_newly_within_radius``
        column and the summary's population figures are None.
    candidates : GeoDataFrame, optional
        Candidate sites (points, e.g. from :func:`read_candidates`); default the representative
        point of every village of the county. A ``name`` column is kept as ``candidate``.
    across_counties : bool
        Let other counties' existing points count as serving the county's people ("before").
        Default False: the county's own points only, as
        :func:`coverage.pipeline.run_coverage` measures — so the "before" figures equal the
        report's for the same inputs (``townships_covered_before``, ``rate_before``, and with
        population ``population_within_radius_before``/``population_total`` equal its
        ``people_within``/``people_placed`` at ``distance_km = radius_km``).
    cross_sea : bool
        Let points serve villages on another land mass.
    as_of : date-like, optional
        Existing points count when open on this date (default today).
    time_limit : float
        Seconds for the MILP (see :func:`maximal_covering`, :func:`set_cover`).
    network : RoadNetwork or path, optional
        A road network (:func:`coverage.read_network`): the service radius is then ``radius_min``
        minutes by road from the village to the point (:func:`coverage.traveltime.cover_by_road`),
        for the coverage matrix and the "before" figures alike; ``radius_km`` is not used. A
        village with no road connection to a point is never counted within the radius.
    radius_min : float, optional
        Service radius in minutes by road; required with ``network``, refused without it.
    access_kmh : float
        With ``network``: speed of the straight legs between a point and the road.

    Returns
    -------
    SitingPlan
        The sites in rank order, before/after figures (``summary``) and the solver's result.
        With ``network`` the summary's ``radius_km`` is None and it gains ``radius_min``,
        ``distance`` ("minutes by road"), ``network`` (the file and its hash), ``access_kmh`` and
        ``villages_off_network`` (villages farther than :data:`coverage.traveltime.MAX_SNAP_KM`
        from every road: never within the radius).

    Raises
    ------
    InputError
        An unknown objective, a population objective without ``population`` or ``new``, a county
        without townships, no candidate site in the county, ``radius_min`` without ``network``
        (or the reverse), a ``radius_min`` that is not a positive number of minutes, or a
        ``network`` none of the county's villages is near.
    """
    import pandas as pd

    from .access import land_masses
    from .errors import InputError
    from .traveltime import BY_ROAD

    if objective not in ("population", "children", "townships"):
        raise InputError(f"objective must be townships, population or children, got {objective!r}")
    if objective != "townships" and population is None:
        raise InputError(f"objective={objective!r} needs village population: give population=")
    if new is None and objective != "townships":
        raise InputError("new= is required for the population objectives")
    by_road = _by_road(network, radius_min)
    towns = townships[townships["county"] == county]
    if towns.empty:
        raise InputError(f"county {county!r} has no townships in the boundaries")
    lands = land_masses(townships)
    people = _people_served(facilities, townships, villages, towns, lands, category=category, radius_km=radius_km,
                            population=population, as_of=as_of, cross_sea=cross_sea,
                            across_counties=across_counties)
    cand = _candidate_sites(candidates, people["villages"], villages, townships, towns, county)
    if by_road is None:
        reach = _reach(people["points"], cand, lands, float(radius_km) * 1000.0, cross_sea)  # villages × candidates
    else:
        net, limit = by_road
        reach = _reach_by_road(net, people, cand, lands, limit, cross_sea=cross_sea,
                               across_counties=across_counties, access_kmh=access_kmh)
    unserved = people["pop"] * ~people["reached_before"]
    covered_towns = set(people["facilities"]["towncode"])
    if objective == "townships":
        result, chosen = _site_townships(reach, unserved, cand, towns, people, covered_towns, new, time_limit)
    else:
        assert new is not None  # refused above for the population objectives
        result = maximal_covering(reach, unserved, new, time_limit=time_limit)
        chosen = list(result.selected)
    rows, remaining, towns_now = _ranked_sites(chosen, reach, unserved, cand, towns, covered_towns,
                                               with_people=population is not None)
    summary = _siting_summary(people, remaining, covered_towns, towns_now, len(towns), result, len(chosen),
                              county=county, category=category, objective=objective, radius_km=radius_km,
                              across_counties=across_counties, cross_sea=cross_sea,
                              has_pop=population is not None)
    sites = pd.DataFrame(rows)
    if by_road is not None:
        summary = _road_summary(summary, by_road, access_kmh, people["off_network"])
        sites["service_radius"] = f"{summary['radius_min']:g} {BY_ROAD}"
        sites["network"] = summary["network"]
    return SitingPlan(sites, summary, result)


def _by_road(network, radius_min) -> tuple | None:
    """``(road network, minutes)`` when siting by road, None for the straight line; refuses half of it."""
    from .errors import InputError
    from .traveltime import check_minutes, road_network

    if network is None:
        if radius_min is not None:
            raise InputError(f"radius_min={radius_min!r} needs network= (a radius in minutes is by road)")
        return None
    if radius_min is None:
        raise InputError("network= needs radius_min= (the service radius in minutes by road)")
    limit = check_minutes("radius_min", radius_min)
    return road_network(network), limit


def _reach_by_road(net, people, cand, lands, limit: float, *, cross_sea: bool, across_counties: bool,
                   access_kmh: float):
    """Villages × candidates within ``limit`` minutes by road (the candidate is the destination), on the same
    land mass unless ``cross_sea``; and ``people["reached_before"]`` replaced by the same measure to the
    existing points (each county's own unless ``across_counties``)."""
    import geopandas as gpd
    import numpy as np

    from .access import land_of
    from .errors import InputError
    from .geography import PROJECTED_CRS
    from .traveltime import MAX_SNAP_KM, cover_by_road, minutes_to_nearest, off_network

    vpts = people["points"]
    origins = gpd.GeoSeries(gpd.points_from_xy(vpts["x"], vpts["y"]), crs=PROJECTED_CRS)
    off = off_network(net, origins)
    if len(off) and off.all():
        raise InputError(f"network= covers no village of {vpts['county'].iloc[0]}: every one is more than "
                         f"{MAX_SNAP_KM:g} km from its roads (a network of another region?)")
    people["off_network"] = int(off.sum())
    cxy = cand.geometry.to_crs(PROJECTED_CRS)
    cland = land_of(np.asarray(cxy.values), lands)
    vland = vpts["land"].to_numpy()
    reach = cover_by_road(net, origins, cxy, limit_min=limit, access_kmh=access_kmh,
                          origin_groups=None if cross_sea else vland, destination_groups=None if cross_sea else cland)
    ex = people["existing"]

    def groups(county, land):
        county = np.full(len(land), "", dtype=object) if across_counties else np.asarray(county, dtype=object)
        land = np.zeros(len(land), dtype=np.int64) if cross_sea else np.asarray(land, dtype=np.int64)
        return np.array([f"{c}|{g}" for c, g in zip(county, land, strict=True)], dtype=object)

    near = minutes_to_nearest(net, origins, gpd.GeoSeries(gpd.points_from_xy(ex["x"], ex["y"]), crs=PROJECTED_CRS),
                              origin_groups=groups(vpts["county"], vland), facility_groups=groups(ex["county"],
                                                                                                  ex["land"]),
                              access_kmh=access_kmh)
    people["reached_before"] = near["minutes"].to_numpy(dtype=float) <= limit
    return reach


def _road_summary(summary: dict, by_road: tuple, access_kmh: float, off_network: int) -> dict:
    """The summary of a siting by road: the radius in minutes and the network it was measured on."""
    from .traveltime import BY_ROAD, network_label

    net, limit = by_road
    out = {}
    for key, value in summary.items():
        if key == "radius_km":
            out.update({"radius_km": None, "radius_min": limit, "distance": BY_ROAD, "network": network_label(net),
                        "access_kmh": float(access_kmh), "villages_off_network": off_network})
        else:
            out[key] = value
    return out


def _people_served(facilities, townships, villages, towns, lands, *, category, radius_km, population, as_of,
                   cross_sea, across_counties) -> dict:
    """The county's villages (``villages``), their points (``points``), people (``pop``), the county's open
    points of the category (``facilities``), and which villages are within ``radius_km`` of one now
    (``reached_before``), measured exactly as the report does (nearest point, same land mass, own county)."""
    import numpy as np

    from .access import facility_points, nearest_facility
    from .measure import facility_state

    vill = villages[villages["towncode"].isin(towns["towncode"])].reset_index(drop=True)
    vpts = _village_points(vill, lands)
    pop = (
        vill["villcode"].map(population).fillna(0).to_numpy(dtype=float)
        if population is not None else np.zeros(len(vill))
    )
    fac = facilities[(facilities["category"] == category)]
    fac = fac[(facility_state(fac, as_of) == "open").to_numpy()]
    fac = fac[fac["towncode"].isin(towns["towncode"])]
    existing = facility_points(facilities, lands, as_of=as_of, categories=[category], townships=townships)
    near = nearest_facility(vpts, existing, cross_sea=cross_sea, across_counties=across_counties)
    dist = near.set_index("code")["distance_km"].reindex(vpts["code"]).to_numpy(dtype=float) if len(near) else (
        np.full(len(vpts), np.nan))
    return {"villages": vill, "points": vpts, "pop": pop, "facilities": fac, "existing": existing,
            "reached_before": dist <= float(radius_km)}


def _candidate_sites(candidates, vill, villages, townships, towns, county: str):
    """Candidate sites in the county: the given ones (located, with their village and ``candidate`` name)
    or, by default, the representative point of every village."""
    import geopandas as gpd

    from .errors import InputError
    from .geography import locate_points

    if candidates is None:
        cand = gpd.GeoDataFrame(
            {"towncode": vill["towncode"], "village": vill["village"], "villcode": vill["villcode"]},
            geometry=vill.geometry.representative_point(), crs=vill.crs,
        )
    else:
        cand = candidates.copy()
        if "towncode" not in cand or cand["towncode"].isna().any():
            cand["towncode"] = locate_points(cand, townships)["towncode"].to_numpy()
        n_given = len(cand)
        cand = cand[cand["towncode"].isin(towns["towncode"])].reset_index(drop=True)
        if cand.empty:
            raise InputError(f"no candidate sites in {county}: none of the {n_given} candidates given lies in "
                             f"{county}" if n_given else f"no candidate sites in {county}: no candidates given")
        cand["village"] = _candidate_villages(cand, villages)
        cand["candidate"] = cand["name"].fillna("").astype(str) if "name" in cand else ""
    if cand.empty:
        raise InputError(f"no candidate sites in {county}")
    return cand


def _reach(vpts, cand, lands, radius: float, cross_sea: bool):
    """Villages × candidates within ``radius`` metres (on the same land mass unless ``cross_sea``)."""
    import numpy as np

    from .access import land_of, stack_groups
    from .geography import PROJECTED_CRS

    cxy_s = cand.geometry.to_crs(PROJECTED_CRS)
    cland = land_of(np.asarray(cxy_s.values), lands)
    group_v = np.zeros(len(vpts)) if cross_sea else vpts["land"].to_numpy()
    group_c = np.zeros(len(cand)) if cross_sea else cland
    return coverage_matrix(stack_groups(vpts["x"], vpts["y"], group_v), stack_groups(cxy_s.x, cxy_s.y, group_c),
                           radius)


def _site_townships(reach, unserved, cand, towns, people, covered_towns, new, time_limit):
    """The ``townships`` objective: newly covered townships (set cover when ``new`` is None), ties to the more
    populous; within each chosen township, the candidate reaching the most unserved people."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    town_codes = towns["towncode"].to_numpy()
    open_towns = np.array([t not in covered_towns for t in town_codes])
    demand = town_codes[open_towns]
    row_of = {t: i for i, t in enumerate(demand)}
    rows = np.array([row_of.get(t, -1) for t in cand["towncode"]])
    mask = rows >= 0
    cover = sp.csr_matrix((np.ones(mask.sum(), dtype=bool), (rows[mask], np.flatnonzero(mask))),
                          shape=(len(demand), len(cand)))
    town_pop = pd.Series(people["pop"]).groupby(people["villages"]["towncode"]).sum().reindex(demand).fillna(0)
    town_pop = town_pop.to_numpy()
    if not town_pop.any():  # no population: prefer townships in code order, deterministically
        town_pop = np.arange(len(demand), 0, -1, dtype=float)
    if new is None:
        result = set_cover(cover, time_limit=time_limit)
    else:
        # one unit per township, ties to the more populous: weights 1 + pop/(total+1) < 2
        result = maximal_covering(cover, 1.0 + town_pop / (town_pop.sum() + 1.0), new, time_limit=time_limit)
    reach_pop = np.asarray(reach.T @ unserved).ravel()
    best_in_town = pd.Series(reach_pop).groupby(cand["towncode"].to_numpy()).idxmax()
    return result, [int(best_in_town[cand["towncode"].iat[j]]) for j in result.selected]


def _ranked_sites(chosen, reach, unserved, cand, towns, covered_towns, *, with_people: bool):
    """One row per chosen site in rank order with its marginal figures; the people still unserved after
    all of them; the townships covered after."""
    remaining = unserved.copy()
    towns_now = set(covered_towns)
    rows = []
    csc = reach.tocsc()
    for rank, j in enumerate(chosen, start=1):
        hit = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        gain = float(remaining[hit].sum())
        remaining[hit] = 0.0
        code = cand["towncode"].iat[j]
        new_town = code not in towns_now
        towns_now.add(code)
        geom = cand.geometry.iat[j]
        t = towns.loc[towns["towncode"] == code].iloc[0]
        row = {"rank": rank, "towncode": code, "county": t["county"], "township": t["township"],
               "village": cand["village"].iat[j]}
        if "candidate" in cand:
            row["candidate"] = cand["candidate"].iat[j]
        row.update({"lon": round(geom.x, 6), "lat": round(geom.y, 6)})
        if with_people:
            row["people_newly_within_radius"] = int(round(gain))
        row["township_newly_covered"] = new_town
        rows.append(row)
    return rows, remaining, towns_now


def _siting_summary(people, remaining, covered_towns, towns_now, n_towns, result, n_new, *, county, category,
                    objective, radius_km, across_counties, cross_sea, has_pop) -> dict:
    """The plan's summary: townships and people within the radius before and after, and how it was solved."""
    pop, reached_before = people["pop"], people["reached_before"]
    total_pop = float(pop.sum())
    before_pop = float(pop[reached_before].sum())
    after_pop = total_pop - float(remaining[~reached_before].sum()) if total_pop else 0.0
    return {
        "county": county, "category": category, "objective": objective, "radius_km": radius_km,
        "across_counties": bool(across_counties), "cross_sea": bool(cross_sea),
        "new": n_new, "townships_total": n_towns,
        "townships_covered_before": len(covered_towns), "townships_covered_after": len(towns_now),
        "rate_before": round(100 * len(covered_towns) / n_towns, 1),
        "rate_after": round(100 * len(towns_now) / n_towns, 1),
        "population_total": int(round(total_pop)) if has_pop else None,
        "population_within_radius_before": int(round(before_pop)) if has_pop else None,
        "population_within_radius_after": int(round(after_pop)) if has_pop else None,
        "method": result.method, "status": result.status, "optimality_gap": result.gap,
        "objective_value": result.objective, "bound": result.bound, "solve_seconds": round(result.seconds, 3),
    }
