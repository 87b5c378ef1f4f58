"""The evidence texts of the claims table, in one place: one template per claim id.

A stage's claims function computes a row's numbers (a dict of named values); :func:`render` puts
them into the row's template.  ``{name}`` shows a number with 3 significant digits
(:func:`dlgeom.study.tables.fmt`: 'n/a' for NaN, integers as they are) and a text as it is (counts
'k/n' of :func:`~dlgeom.study.tables.frac`, lists of per-group items); ``{name:fmt4}`` uses 4
significant digits, any other format spec (``{name:g}``, ``{name:.2f}``) is Python's.

A template is one text, or a tuple of parts rendered one after the other.  A part marked
:class:`OptionalPart` is left out when none of its numbers is given; a number missing from a part that
is rendered, or a number that no rendered part uses, is an error (:class:`KeyError`).  Per-group
items with wording of their own have their templates in :data:`ITEMS` (:func:`items`).
"""

from __future__ import annotations

import string

import numpy as np

from .tables import fmt

__all__ = ["ITEMS", "TEMPLATES", "OptionalPart", "item", "items", "placeholders", "render"]


class OptionalPart(str):
    """A part of a template that is left out when none of its numbers is given."""


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec):
        if format_spec.startswith("fmt"):
            return fmt(value, int(format_spec[3:]))
        if format_spec:
            return format(value, format_spec)
        if isinstance(value, str):
            return value
        if value is None or isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
            return fmt(value)
        return str(value)


_FORMATTER = _Formatter()

_APART = "; outside the hypotheses (empty μ-box), counted apart: {n_apart} pattern rows"

#: The evidence template of every claim id that has one (:data:`dlgeom.study.verdicts.CATALOGUE`).
TEMPLATES: dict[str, str | tuple[str, ...]] = {
    # ---- grid stage (grid_report.grid_claims) ----
    "prop22": "max relative errors on the data: idempotence {idempotence}, scale invariance {scale_invariance}, "
    "X^(l) = W^(l) T_l(X) + b^(l): {cumulative}; counterexample: any error ≥ 1e-10",
    "thm23_zero": (
        "zero cost (C ≤ {zero:g}) at the default μ (midpoint of (−D_eff, −2δ√Q), D_eff = min(D, min_j|x̄_j − x̄|)) "
        "in {zero_default} cases (max C {max_cost}; L − Q ∈ {{{extra_layers}}}); ",
        OptionalPart(
            "θ_0 chosen per case (smallest θ_0 opening the μ-box, cond(W_*) capped; median θ_0 {median_theta0})"
        ),
        ". Outside the hypotheses, counted apart: {n_empty_box} cases with A1-A3 but an empty μ-box (D ≤ 2δ√Q), "
        "and {n_eff_empty} with D > 2δ√Q but D_eff ≤ 2δ√Q; the default μ gives zero cost in {zero_empty_box} of "
        "the former",
    ),
    "thm23_box": "paper's box (−D, −2δ√Q)^Q tested at every corner and edge midpoint (deterministic, inset 1e-3 of "
    "the width) and at random interior points ({paper_points}; of the failing points {paper_rounding} are rounding "
    "(every class exactly on its apex, so C = 0 in exact arithmetic)); a case counts against the statement if a "
    "tested μ misses zero cost other than by rounding: {failing}. Correction D_eff = min(D, min_j|x̄_j − x̄|): "
    "every tested μ of (−D_eff, −2δ√Q)^Q reaches zero in {eff_ok} cases ({eff_points}; of the failing points "
    "{eff_rounding} are rounding (every class exactly on its apex, so C = 0 in exact arithmetic)). Failing cases "
    "vs cases with D > min_j|x̄_j − x̄|: {n_fail_reach} both, {n_fail_not_reach} failing with D ≤ min_j|x̄_j − x̄|, "
    "{n_reach_no_fail} D > min_j|x̄_j − x̄| without failure; see box_failing_set",
    "box_failing_set": "{n_fail_points} failing μ (besides {n_rounding} rounding failures) among {n_tested} tested "
    "in {n_failing_cases}/{n_cases} cases; failing points with some μ_j < −min_k|x̄_k − x̄|: "
    "{n_fail_past_min}/{n_fail_points} (points past it: {n_past}, so the predicate is necessary, not sufficient); "
    "failing points = points where an earlier apex x̄_j − μ_j f_j leaves a later layer's cone (exact test "
    "W^(ℓ)p_j + b^(ℓ) ≱ 0): {n_fail_apex}/{n_fail_points} failing points have it, {n_apex} points have it in all; "
    "cases where the box reaches past min_j|x̄_j − x̄| (D > min_j|x̄_j − x̄|): {n_reach}, of which failing "
    "{n_fail_reach}; failing cases with D ≤ min_j|x̄_j − x̄|: {n_fail_not_reach}",
    "box_assumed": "A1-A3 hold in {n_inside} cases; the μ-box (−D, −2δ√Q) is empty for the chosen θ_0 in "
    "{n_empty}, for every θ_0 (sup_θ0 D = min_ℓ≠j (x̄_j − x̄_ℓ)·f_ℓ − δ ≤ 2δ√Q) in {n_empty_sup}, within "
    "cond(W_*) ≤ {cond_w_limit:g} in {n_empty_cap}; with the exact collapse threshold in place of 2δ√Q: empty "
    "for the chosen θ_0 in {n_empty_exact}, for every θ_0 (grid of 40 θ_* → π) in {n_empty_exact_sup}. §4 "
    "assumes the box is non-empty; A1-A3 do not imply it: for the regular simplex sup_θ0 D = ρ(Q/(Q−1) − c_0) "
    "(closed form, tested against the library), so D > 2δ√Q needs c_0 < Q/((Q−1)(1 + 2√Q)); it fails for every "
    "θ_0 from Q = {regular_limits}",
    "thm23_outside": "zero cost at the default μ in {zero_default} cases outside A1-A3; {per_assumption}",
    "thm24_value": "min over W_(L+1) and b_(L+1) (affine least squares, V_aff) is below (2.71) in {below} cases "
    "(median V_aff/(2.71) {median_ratio}); (2.71) is the minimum over W_(L+1) with b_(L+1) = −W_(L+1) b^(L) "
    "fixed (bias-free least squares; max rel. diff {max_rel_diff})" + _APART,
    "thm24_degenerate": "stationary with the output re-solved, μ-independent and no μ-descent in {flat} cases "
    "(max |grad C²| {max_grad})" + _APART,
    "thm25_mixed": "stationary in {stationary} pattern rows; value depends on μ in {mu_dependent}; a μ-step lowers "
    "it in {mu_descent}; (2.85) as printed differs from the bias-free least-squares value by a median "
    "{median_rel_diff} (relative)" + _APART,
    "thm25_count": "stationary non-global patterns per case: {per_case} against 2^Q − 1 = {expected}",
    "patterns_extra_layers": "L = Q + 2: s = (1, …, 1): V_aff below (2.71) in {none_below}, stationary and "
    "μ-flat in {none_flat}; mixed patterns stationary in {mixed_stationary}, lowered by a μ-step in "
    "{mixed_descent}",
    "closed_forms": "max |closed form − least squares| {max_error} over patterns with every μ_j in its box (exact "
    "curation); with μ outside an empty box the curation is inexact and the error reaches {max_error_outside}",
    "degeneracy_perturb": "zero after re-solving the output in {zero_after} perturbations with ε ≤ ε_safe/10 "
    "(ε_safe: the relative activation margin; ε from a fixed grid {eps_grid}, deterministic; directions random, "
    "{n_directions} per ε); the first ε with non-zero cost is a median {first_eps_ratio} × ε_safe",
    "metric_classifier": "cases: A1-A3 hold, non-empty μ-box, zero cost; test accuracy 1 in {accurate} (min "
    "{min_accuracy}; test points within δ of their mean); metric rule = network rule in {agree}; "
    "nearest-class-mean baseline mean accuracy {ncm_accuracy}. Over all zero-cost cases (also outside A1-A3 or "
    "with an empty μ-box) accuracy 1 in {all_accurate} (min {all_min_accuracy})",
    # ---- landscape stage (landscape_report.landscape_claims, scaling_claims) ----
    "training_zero": "zero cost in {zero_runs} random-start runs; by optimiser: {by_optimiser}",
    "training_levels": "of {n_converged} converged non-zero end points: pattern level {pattern}, class-merging "
    "level {merge}, other {other}; including unconverged runs: pattern {all_pattern}, merging {all_merge}, other "
    "{all_other}",
    "training_hessian": "no negative eigenvalue in {psd} converged non-zero end points with a defined Hessian; by "
    "level: {by_level}; another {n_kink} end points sit on a ReLU kink (no Hessian)",
    "training_connected": "no barrier in {flat} zero-cost end points from random starts (median barrier "
    "{median_barrier} in units of C, peak at median t = {median_peak_t}); from the perturbed minimiser itself: "
    "median barrier {median_barrier_minimiser}",
    "training_attraction": "return fraction at ρ = {rho:g}: {by_optimiser} (GD and Adam within their iteration "
    "budget); all (ρ, optimiser): {by_rho_optimiser}",
    "other_minima": "{n_points} L-BFGS end points certified as non-zero local minima (no descent along 16 random "
    "directions at radii 1e-8..1e-3; smooth ones also stationary with a positive semi-definite Hessian) form "
    "{n_minima} distinct (cell, cost, collapse structure) minima; {n_new} of them ({n_new_points} end points) are "
    "not at a pattern level: {n_merge} at class-merging levels, {n_other} elsewhere; most frequent: {most_frequent}",
    "hessian_outliers": (
        "outliers: eigenvalues above {rtol:g} x the largest; ",
        OptionalPart("constructed minimiser (outliers / non-zero / Q²): {constructed}; "),
        OptionalPart(
            "L-BFGS zero-cost end points with a defined Hessian: {n_zero_points}, outliers = Q² in "
            "{zero_outliers_q2}, non-zero eigenvalues = Q² in {zero_nonzero_q2}, median outliers/Q² {zero_ratio}, "
            "median gap {zero_gap}; "
        ),
        "distinct certified non-zero minima with a defined Hessian: {n_hessian} of {n_minima}, outliers = Q² in "
        "{outliers_q2}; per level: {per_level}",
    ),
    "dead_units": (
        "distinct certified non-zero minima without a dead unit: {alive} ({alive_points}/{points} end points); "
        "per level (without a dead unit / minima, median dead units): {per_level}",
        OptionalPart(
            "; zero-cost end points (all optimisers): {n_zero_points}, without a dead unit {zero_alive}, median "
            "dead units {zero_dead}"
        ),
    ),
    "zero_modes": "zero eigenvalues = #params − rank J in {equal} cells; {per_cell}",
    "flat_directions": "paper's reading (μ-box, one rescaling scalar per hidden layer): directions in the Hessian "
    "null space in {flat} cells; {per_cell}",
    "flat_extended": "our extensions ({families}) flat in {flat} cells; all directions together explain "
    "{n_explained} of {n_null} null dimensions (the paper's directions alone: rank sum {n_paper}); the null "
    "dimension equals #params − Q² in {null_is_theory} cells (rank J = Q²: near the construction the zero set is a "
    "manifold of dimension #params − Q²); per cell: {per_cell}",
    "thm25_mu_path": "barrier on the μ-path to the global minimiser in {barrier} mixed patterns (monotone descent "
    "in {monotone}); s = (1, …, 1): barrier in {s1_barrier}, monotone in {s1_monotone}",
    "landscape_scaling": (
        "{n_runs} runs in {n_groups} (Q, optimiser, start) groups, {n_none} groups without a zero-cost run; "
        "fraction reaching zero cost (C ≤ 1e-6), pooled over the starts, with Wilson 95 %: {per_optimiser}; "
        "largest Q with a zero-cost run: {largest_q}",
        OptionalPart("; distinct certified non-zero minima of L-BFGS per Q ({starts} starts): {minima}"),
        OptionalPart("; L-BFGS runs stopped by the iteration budget (not certified) per Q: {budget}"),
    ),
    # ---- robustness stage (robustness_report.robustness_claims) ----
    "robust_sufficient": (
        "zero cost (C <= {zero:g}) at the default μ in {zero_default} cases where A1-A3 hold (at some searched μ: "
        "{zero_any}); exact curation (every class on one point, so C = 0 in exact arithmetic) in {exact}; failures: "
        "{n_failures}",
        OptionalPart(
            ", of which {n_rounding} are rounding (exact curation, C up to {rounding_max_cost}, cond(X^red) up to "
            "{rounding_max_cond}, axes: {rounding_axes})"
        ),
        OptionalPart(
            "; not counted: {n_boundary} cases within {a3_tol:g} rad of the A3 boundary (zero at the default μ in "
            "{boundary_zero}, exact curation in {boundary_exact})"
        ),
        OptionalPart(
            "; outside the hypotheses, counted apart: {n_empty_box} cases with A1-A3 but an empty μ-box (zero at the "
            "default μ in {empty_box_zero}, at some searched μ in {empty_box_any})"
        ),
        "; correction: a failure with exact curation (C = 0 in exact arithmetic) is rounding, not a counterexample",
    ),
    "robust_necessary": (
        "outside A1-A3 the construction still reaches zero cost at some searched μ in {zero_any} cases "
        "({share_any:.0%}; at the default μ only {zero_default}); {per_assumption}",
        OptionalPart(". Per axis: {per_axis}"),
    ),
    "realdata_lambda": "λ_zero >= λ_A (grid) in {zero_beyond} dataset/projection pairs; the assumptions hold for no "
    "λ in {n_never} (obtuse or degenerate mean simplex); A2 holds at λ = 1 in {a2_holds}. {per_pair}",
    "realdata_accuracy": "mean held-out accuracy over {n_zero} zero-cost cases: network rule at the best μ "
    "{acc_best:.4f} (min {acc_best_min:.3g}), induced metric at the default μ {acc_metric:.4f}, nearest class mean "
    "{acc_ncm:.4f}, logistic regression {acc_logreg:.4f}. Where no μ reaches zero ({n_not_zero} cases): network "
    "rule {acc_best_not_zero:fmt4} vs nearest mean {acc_ncm_not_zero:fmt4}",
    "a1_output_bias": "cond_shift axis (regular simplex translated toward the origin): default μ with the "
    "least-squares affine output zero in {affine_zero} cases up to cond(X^red) = {max_cond}; the paper's output "
    "(4.74) zero in {paper_zero} (lost from cond {lost_from_cond}, max C {max_cost}); cond >= 1e12: status "
    "singular_xred in {n_singular} cases (the library refuses X^red there)",
    "robust_training": "C <= {optimiser_zero:g} in {zero_runs} He-initialised runs; by optimiser: {by_optimiser}; "
    "per point (replicate 0): {per_point}",
    # ---- beyond the paper (beyond_report.beyond_claims) ----
    "highdim_zero": "zero cost (C <= {zero:g} |Y|_F) in {zero_cases} cases where A1-A3 hold for the projected data "
    "(max C {max_cost}; (Q, M) in {q_m}); the fused Q-layer variant: {fused_zero}; of these, cases with A2 failing "
    "in R^M (r_M >= 1/4) but holding after projection: {a2_fails_zero}; all cases, assumptions or not: {all_zero}",
    "highdim_near": "zero cost in {zero_cases} cases where A1-A3 hold for the projected data (max C {max_cost}); "
    "this μ lies outside §4's box (-D_eff, -2δ√Q) in {outside_box} of them",
    "highdim_pca": "zero cost: {per_noise}; singular projections (PCA): {n_singular}",
    "sls_zero": (
        "network cost C <= {zero:g} |Y|_F in {zero_network} feasible orderings (max C {max_cost}; with the output "
        "by the closed formula instead of fitted to the computed hidden points: max C {max_cost_formula}); the same "
        "numbers applied in input space (Q truncation maps, then the affine output): C <= {zero:g} |Y|_F in "
        "{zero_input} (max {max_cost_input}, max distance of a point to its p_k {max_truncation_error}); layer "
        "conditioning: max cond W^(k) {max_cond} (θ_k -> π as the margin shrinks; smallest margin {min_margin})",
        OptionalPart(
            "; where the network misses zero: max cond {miss_max_cond}, min margin {miss_min_margin}; correction: "
            "the same numbers applied in input space"
        ),
    ),
    "sls_ordering": (
        "datasets with some but not all orderings feasible: {mixed}; satellite data, feasible orderings per (Q, M): "
        "{satellite}; clustered data: all orderings feasible in {clustered_all} datasets",
        OptionalPart("; hand-made example: {hand}"),
    ),
    "sls_certificates": "infeasible in {blocked_infeasible} orderings that violate a designed block and "
    "{hand_infeasible} hand-made ones; reasons: {reasons}",
    "shallow_slope": "least squares over δ_P <= {fit_max:g}, slope mean ± SE over replicates: {per_group}; over "
    "the whole sweep (δ_P up to {max_delta_p}): mean slope {slope_all:fmt4}; n_cases = (Q, mode) groups ({n_fits} "
    "fits); a group counts against the statement if |slope - 2| > max({slope_tol:g}, 3 SE)",
    "shallow_closed": "max relative difference closed form vs least squares / explicit network {max_rel_diff}; "
    "bound violated in {n_violated}/{n_points} sweep points (median (B - V)/B / (Q δ_P²) {median_gap_ratio})",
    "shallow_bias": (
        "V_aff < V in {lower} sweep points; median V_aff/V {median_ratio} (by Q: {by_q})",
        OptionalPart(
            "; training the shallow network (L-BFGS, {train_runs} He starts + 1 from the affine fit) finds a lower "
            "cost than V_aff in {train_below} probes; median V_train/V by Q: {train_by_q}: the affine value is not "
            "the shallow minimum either"
        ),
    ),
    # ---- collapse stage (collapse_report.collapse_claims) ----
    "collapse_layers": (
        "construction (L = Q): one class per layer in {staircase_constructed}/{n_constructed} cells where A1-A3 hold",
        OptionalPart("; {trained}"),
        " (random starts: one class per layer {random_staircase})",
    ),
    "collapse_last_hidden": "median Papyan NC1 of trained zero-cost minima from random starts {median_nc1}; "
    "medians over groups (cell, optimiser, start, category) at layer L: {per_group}",
    "collapse_cdnv": "medians over groups (cell, optimiser, start, category); n_counter: networks in groups whose "
    "median CDNV at layer L is not below the input's: {per_group}",
    "separation_law": "fit of log D_l = log D_0 + l log rho over the layers 0..L with D_l > 0 (a layer with every "
    "class collapsed has D = 0); n_counter: fitted networks whose fit is not a geometric decay: {per_group}",
    "width_escape": "escapable under some embedding: {escapable} distinct minima; per level type: {per_level}; per "
    "embedding: {per_embedding}",
}

#: Templates of per-group items that carry wording of their own, by name (:func:`items`).
ITEMS: dict[str, str] = {
    "box_points": "{label} {n_fail}/{n} failing",
    "assumption_fails": "{assumption} fails: zero in {zero}",
    "regular_limit": "{q} at c_0 = {c0:g}",
    "group_value": "{group!s} {value!s}",
    "group_fraction": "{group!s} {value:.2f}",
    "rho_optimiser": "({rho:g}, {optimiser!s}) {value:.2f}",
    "minimum": "{cell} C = {cost:.4g} ({level}, structure {structure!s}) ×{multiplicity!s}",
    "zero_modes_cell": "{cell}: {n_zero_eig!s}/{n_params!s} (null J {null_dim_J!s})",
    "family_rank": "{family} {rank}",
    "flat_cell": "{cell}: {families} of {null_dim} null dimensions",
    "cell_families": "{cell}: {families}",
    "outliers_cell": "{cell} {n_outliers}/{n_nonzero}/{q2}",
    "outliers_level": "{level} {n_eq}/{n_min} (median outliers/Q² {ratio}, median gap {gap})",
    "dead_level": "{level} {n_alive}/{n_min}, {dead}",
    "scaling_point": "Q{q} {p:.2f} [{lo:.2f}, {hi:.2f}]",
    "optimiser_points": "{optimiser} {points}",
    "largest_q": "{optimiser} Q = {q}",
    "largest_none": "{optimiser} none",
    "q_values": "Q{q} {values}",
    "q_count": "Q{q} {k}/{n}",
    "assumption_any": "{assumption} fails: {zero}",
    "axis_extent": "{axis}: assumptions up to {hold!s}, zero (any μ, all replicates) up to {zero!s}",
    "realdata_pair": "{dataset!s}/{projection!s}: λ_A = {lambda_A} (A2 {lambda_A2}, A3 {lambda_A3}), λ_zero = "
    "{lambda_zero} (grid {lambda_zero_grid}), acc at λ = 1: network (best μ) {acc_best} vs nearest mean {acc_ncm}, "
    "logistic {acc_logreg}",
    "training_point_zero": "{axis!s}={value!s}: training {fraction:.2f}, construction zero",
    "training_point_not_zero": "{axis!s}={value!s}: training {fraction:.2f}, construction not zero",
    "pca_noise": "noise {scale:g}δ in the extra directions: R^M {means_zero}, PCA {pca_zero} (median projected "
    "δ-ratio r_V: R^M {means_r}, PCA {pca_r}; PCA keeps a median {pca_captured} of the mean spread)",
    "q_m_value": "({q!s}, {m!s}) {value!s}",
    "hand_ordering": "R^{m} ordering {ordering!s}: {status!s}",
    "slope_group": "Q={q!s} {mode!s}: {mean:.4f} ± {se:.2g} (per-fit SE median {fit_se:.2g})",
    "q_ratio": "{q}: {ratio:.3f}",
    "q_train": "{q}: {ratio:.3f} (C ≈ 0 in {n_zero}/{n})",
    "trained_pattern": "trained zero-cost, {origin!s} starts, {optimiser!s} ({n} end points): one class per layer "
    "{staircase}, all at the last hidden layer {all_last}, some class not collapsed in any hidden layer "
    "{not_collapsed} (most frequent collapse layers per class, 0 = not collapsed even at the output, L+1 = output: "
    "{modes})",
    "mode_count": "{mode!s} ×{count}",
    "source": "{source!s}",
    "source_starts": "{source!s} ({origin!s} starts)",
    "source_starts_optimiser": "{source!s}, {origin!s} starts, {optimiser!s}",
    "last_hidden_group": "{label} ({n_networks} networks in {n_groups} groups): median Papyan NC1 {nc1_papyan}, "
    "NC1 trace ratio {nc1_trace_ratio}, CDNV {cdnv}, NC2 vs Y {nc2_vs_targets}, NC2 vs ETF {nc2_vs_etf}, NC3 vs Y "
    "{nc3_vs_targets}, Papyan NC3 {nc3_papyan}, NC4 mismatch {nc4_ncc_mismatch}, classes collapsed "
    "{classes_collapsed}",
    "cdnv_group": "{label} ({n_networks} networks): median CDNV {cdnv_in} at the input -> {cdnv_L} at layer L, "
    "Papyan NC1 {nc1_in} -> {nc1_L}, NC2 vs ETF at L {nc2_etf_L}, Papyan NC3 at L {nc3_L}, NC4 mismatch at L {nc4_L}",
    "separation_group": "{label}: {n_fitted}/{n_networks} networks with >= 2 positive layers ({n_two} through "
    "exactly 2), rho {rho} and Pearson r {r} (group medians, mean weighted by networks), geometric decay (r <= "
    "{geometric_r:g}, >= 3 layers) {n_geometric}/{n_fitted}, layers with every class collapsed (D = 0) "
    "{collapsed_layers} (median)",
    "escape_level": "{level!s}: {escapable} distinct minima ({escapable_points}/{points} end points) escapable; "
    "median lowest cost reached / cost before {ratio}, reaching C <= {zero_end:g} in {reach_zero}",
    "embedding": "{embedding!s}: {by_level}",
    "embedding_found": "{embedding!s}: {by_level} (found by {methods}; median relative drop {drop})",
}


def _parts(template) -> tuple[str, ...]:
    return (template,) if isinstance(template, str) else tuple(template)


def _names(part: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(part) if name}


def placeholders(key: str) -> set[str]:
    """Every number the template of ``key`` can show (optional parts included)."""
    return set().union(*(_names(p) for p in _parts(TEMPLATES[key])))


def render(key: str, numbers: dict) -> str:
    """The evidence text of claim ``key`` from its numbers (module docstring)."""
    out, used = [], set()
    for part in _parts(TEMPLATES[key]):
        names = _names(part)
        if isinstance(part, OptionalPart) and not names & numbers.keys():
            continue
        missing = names - numbers.keys()
        if missing:
            raise KeyError(f"evidence {key!r}: numbers missing: {', '.join(sorted(missing))}")
        out.append(_FORMATTER.vformat(part, (), numbers))
        used |= names
    extra = numbers.keys() - used
    if extra:
        raise KeyError(f"evidence {key!r}: numbers not in its template: {', '.join(sorted(extra))}")
    return "".join(out)


def item(name: str, numbers: dict) -> str:
    """One per-group item: its numbers put into :data:`ITEMS` ``[name]``."""
    return _FORMATTER.vformat(ITEMS[name], (), numbers)


def items(name: str, values, sep: str = ", ") -> str:
    """Per-group items, each a dict of numbers put into :data:`ITEMS` ``[name]``, joined by ``sep``."""
    return sep.join(item(name, v) for v in values)
