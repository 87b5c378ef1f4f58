"""Every column of every table a study writes (``results/<study>/tables/*.csv``), with its meaning.

:data:`TABLES` is the one place that names the columns; ``docs/tables.md`` is generated from it:

    python -m dlgeom.study.table_columns            # writes docs/tables.md
    python -m dlgeom.study.table_columns --check    # exit 1 if docs/tables.md is out of date

The test suite fails when ``docs/tables.md`` differs from the generated text, and when a table of
the committed studies (or of a fresh tiny study) has a column that is not described here or
lacks a column described here.  Conventions shared by all tables are in :data:`CONVENTIONS`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlgeom.safe_write import open_output

__all__ = ["CONVENTIONS", "TABLES", "column_names", "render_tables_reference", "main"]

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "tables.md"

#: What every table shares: empty cells, infinities, booleans, seeds, units.
CONVENTIONS = (
    "An empty cell is a value that does not apply or was not measured (NaN): the column's line says when.",
    "`inf` and `-inf` appear only where a column's line names them (for example theta_max = `inf`: no cone "
    "contains the other classes' noise balls).",
    "Booleans are `True`/`False`. Angles are in radians. Costs C are the class-balanced L² cost "
    "(docs/mathematics.md §1), not squared unless the line says so.",
    "A seed cell is the `numpy.random.SeedSequence` entropy of the row, its integers joined by `-` "
    "(for example `2309-611061550-1938355973-0-0`); `hand` marks the hand-made examples.",
    "A user dataset is named by its config key `datasets[].name` in every table (`dataset` column, and "
    "`user/<name>/lambda<λ>` in `cell`).",
    "Floats are written with 10 significant digits.",
)

# Meanings shared by several tables; a table lists such a column with ``None``.
COMMON = {
    "cell": "the grid cell: `Q<Q>/theta<θ>/r<r>` (synthetic) or `user/<name>/lambda<λ>` (a user dataset)",
    "Q": "number of classes (= input width = hidden width of the network)",
    "L": "number of hidden layers of the network",
    "replicate": "replicate index (0-based): an independent draw of the data",
    "seed": "SeedSequence entropy of the row (integers joined by `-`)",
    "N": "training points",
    "N_test": "held-out points",
    "delta_ratio": "δ-ratio r of the synthetic data: noise radius δ over the distance of the class means to "
    "their barycenter (A2 needs r < 1/4)",
    "r": "measured δ-ratio r = δ / min_j |x̄_j − x̄| of the training data (A2 holds when r < 1/4)",
    "theta_max": "max_j θ_{*,j} (rad): the widest cone a class needs to contain the other classes' noise balls "
    "(A3 holds when < π); `inf` when a noise ball reaches another class mean (no cone works)",
    "theta0": "θ_0 (rad): the margin added to theta_max by the rule 'open_box' (the smallest θ_0 that opens the μ-box)",
    "theta_star": "θ_* = θ_0 + theta_max (rad), the cone angle the construction uses (capped below π when A3 fails)",
    "cond_xred": "condition number of X^red, the matrix of the training class means (A1 needs it finite, < 1e12)",
    "A1": "A1 holds: the class means are linearly independent",
    "A2": "A2 holds: r < 1/4",
    "A3": "A3 holds: theta_max < π",
    "all_hold": "A1, A2 and A3 hold",
    "box_nonempty": "the μ-box (−D_eff, −2δ√Q) of the global construction is non-empty",
    "D_eff": "D_eff = min(D, min_j |x̄_j − x̄|): the corrected depth bound of the μ-box (docs/mathematics.md §4)",
    "collapse_bound": "2δ√Q: the paper's collapse threshold, upper end of the μ-box",
    "status": "`ok`, or why the row has no result (for example `singular_xred`, `numerical: …`, `max_iter`)",
    "all_hold_cell": "A1–A3 hold for the landscape cell's training data",
    "global_cost": "cost C of the constructed global minimiser on the cell's data",
    "optimiser": "gradient optimiser: `lbfgs`, `gd` or `adam`",
    "run": "run index within its (start, optimiser) group",
    "cost": "cost C at the end point",
    "zero": "C at or below the study's zero threshold (the line of the table's description says which)",
    "n_iter": "optimiser iterations used",
    "grad_norm": "norm of the gradient of C² at the end point",
    "start": "the start of a run: `he`, `xavier` (random initialisations), `global@ρ` or `none@ρ` (the "
    "constructed minimiser or the s = 1 network perturbed by relative size ρ)",
    "category": "where the end point sits: `zero` (C ≤ 1e-6), `pattern` (a pattern level V_P/V_bf/V_aff), "
    "`merge` (a class-merging level), `other`",
    "nearest_level": "name of the nearest cost level (`V_P[s]`, `V_bf[s]`, `V_aff[s]`: pattern s of intact "
    "classes; `merge[01|2]`: classes 0 and 1 merged); empty for category zero",
    "structure": "collapse layer per class, one digit per class: the first hidden layer where all its points share "
    "one representation (0: never)",
    "n_params": "number of network parameters",
    "activation_margin": "smallest |pre-activation| over hidden units and training points (distance to a ReLU kink)",
    "eps_safe": "relative parameter perturbation below which no activation can flip (first order)",
    "probe_min_rel_change": "smallest relative change of C² over the descent probe's steps (negative: a descent "
    "was found); empty when the end point was not probed",
    "hess_n_outliers": "Hessian eigenvalues above 1e-3 × the largest (the outliers; docs/mathematics.md §9); "
    "empty where the Hessian was not computed",
    "hess_n_nonzero": "Hessian eigenvalues above 1e-8 × the largest in absolute value (rank of the positive part)",
    "hess_outlier_gap": "smallest outlier / largest positive eigenvalue below the outlier cut (`inf`: no bulk)",
    "dead_units": "hidden units whose pre-activation is ≤ 0 on every training point",
    "Y_norm": "|Y|_F, the Frobenius norm of the target matrix (zero thresholds are relative to it)",
    "M": "input dimension",
    "layer": "layer index (0: the input)",
    "acc_metric": "held-out accuracy of the induced-metric classifier at the default μ",
    "acc_best": "held-out accuracy of the network's own rule argmin_j |f(x) − y_j| at the best searched μ",
    "acc_ncm": "held-out accuracy of the nearest class mean (training means)",
    "acc_logreg": "held-out accuracy of logistic regression (scikit-learn, C = 1) on the same features",
    "axis": "the robustness axis (one factor varied from the base point): delta_ratio, theta, noise, elongation, "
    "outlier_fraction, label_noise, imbalance, cond_xred, cond_shift, n_per_class",
    "value": "the axis value as written in the config",
    "x": "the axis value as a number, for plotting (θ of the regular simplex for `regular`; position for noise shapes)",
}

_CLAIMS = [
    ("id", "the claim's or finding's key (the catalogue in docs/claims.md)"),
    ("kind", "`claim` (a statement of the paper, checked) or `finding` (ours, reported)"),
    ("statement", "what is checked, in words"),
    ("reference", "where the statement comes from (paper equation, theorem, or our docs)"),
    ("verdict", "claims: `holds`, `holds with correction`, `fails` or `untested`; findings: `finding`"),
    ("n_cases", "cases the verdict is computed from (0: no applicable case in this study)"),
    ("n_counter", "counterexamples among them (a claim fails when > 0 after corrections)"),
    ("evidence", "the numbers behind the verdict, computed from the tables"),
]

_MEASURE = [  # dlgeom.study.measurements.measure_point: shared by robustness.csv and realdata.csv
    ("status", "`ok`, `singular_xred` (cond(X^red) ≥ 1e12: no construction, costs empty) or `numerical: …`"),
    ("Q", None),
    ("N", None),
    ("N_test", None),
    ("n_min_class", "training points of the smallest class"),
    ("n_max_class", "training points of the largest class"),
    ("r", None),
    ("A2_margin", "1/4 − r (A2 holds when > 0)"),
    ("theta_max", None),
    ("theta0", None),
    ("theta_star", None),
    ("A3_margin", "π − theta_max (A3 holds when > 0; `-inf` when theta_max is `inf`)"),
    ("cond_xred", None),
    ("A1", None),
    ("A2", None),
    ("A3", None),
    ("all_hold", None),
    ("cost_default", "cost C of the global construction at the default μ (paper's output layer)"),
    ("cost_best", "smallest C over the default μ (both output layers) and the searched μ"),
    ("reaches_zero_default", "cost_default ≤ the study's zero_cost"),
    ("reaches_zero_any", "cost_best ≤ the study's zero_cost"),
    (
        "exact_default",
        "the curation at the default μ is exact (every class on one point, affinely independent): "
        "C = 0 in exact arithmetic",
    ),
    ("exact_best", "the same at the best μ"),
    ("acc_metric", None),
    ("acc_best", None),
    ("acc_ncm", None),
    ("acc_logreg", None),
    ("silhouette", "silhouette score of the training data (−1..1, higher: better separated classes)"),
    ("davies_bouldin", "Davies–Bouldin index of the training data (≥ 0, lower: better separated classes)"),
    ("D_eff", None),
    ("acc_train_metric", "training accuracy of the induced-metric classifier at the default μ"),
    (
        "best_family",
        "where cost_best came from: `default-paper`, `default` (least-squares output) or the searched "
        "μ family (`line`, `random`, …)",
    ),
    ("box_nonempty", None),
    ("collapse_bound", None),
    ("cost_default_affine", "C at the default μ with a least-squares output layer with bias"),
    ("delta", "noise radius δ = max distance of a training point to its class mean"),
    ("frac_zero_search", "fraction of the searched μ candidates with zero cost"),
    ("mu_best_min", "smallest entry of the best μ (the μ of cost_best)"),
    ("mu_best_max", "largest entry of the best μ"),
    ("mu_default_mean", "mean entry of the default μ"),
    ("n_search", "μ candidates evaluated by the search"),
    (
        "spread_best",
        "largest within-class spread after the curation at the best μ, relative to the diameter of the class means",
    ),
    ("spread_default", "the same at the default μ"),
    ("threshold_max", "largest exact collapse threshold over the classes (μ below it collapses the class)"),
]

_LANDSCAPE_CELL = [
    ("cell", None),
    ("Q", None),
    ("L", None),
    ("all_hold", COMMON["all_hold_cell"]),
    ("global_cost", None),
]

_BOX = []
for _which, _what in (("eff", "D_eff (the corrected box)"), ("paper", "the paper's D")):
    _BOX += [
        (f"box_{_which}_n_corner", f"μ-box of {_what}: corners tested (0 when the box is empty)"),
        (f"box_{_which}_n_edge", f"μ-box of {_what}: edge midpoints tested"),
        (f"box_{_which}_n_random", f"μ-box of {_what}: random interior points tested"),
        (f"box_{_which}_fail_corner", f"μ-box of {_what}: corners with C above zero_cost"),
        (f"box_{_which}_fail_edge", f"μ-box of {_what}: edge midpoints with C above zero_cost"),
        (f"box_{_which}_fail_random", f"μ-box of {_what}: random points with C above zero_cost"),
        (f"box_{_which}_cost_max", f"μ-box of {_what}: largest C over the tested points (empty: empty box)"),
        (f"box_{_which}_frac_zero", f"μ-box of {_what}: fraction of tested points with zero cost (empty: empty box)"),
        (f"box_{_which}_past_min", f"μ-box of {_what}: points where some μ_j < −min_k |x̄_k − x̄|"),
        (f"box_{_which}_past_own", f"μ-box of {_what}: points where some μ_j < −|x̄_j − x̄| (past its own mean)"),
        (f"box_{_which}_fail_past_min", f"μ-box of {_what}: failing points (not rounding) among past_min"),
        (f"box_{_which}_fail_past_own", f"μ-box of {_what}: failing points (not rounding) among past_own"),
        (f"box_{_which}_apex_out", f"μ-box of {_what}: points where an apex leaves its cone"),
        (f"box_{_which}_fail_apex_out", f"μ-box of {_what}: failing points (not rounding) among apex_out"),
        (f"box_{_which}_fail_rounding", f"μ-box of {_what}: failing points whose curation is exact (rounding)"),
    ]

#: Table name → (one-line description, [(column, meaning or None for :data:`COMMON`)]), in the
#: tables' column order.
TABLES: dict[str, tuple[str, list[tuple[str, str | None]]]] = {
    "claims": ("Every claim of the paper and finding of ours with its computed verdict (all stages).", _CLAIMS),
    "robustness_claims": ("The claims and findings of the robustness stage (rows of claims.csv).", _CLAIMS),
    "beyond_claims": ("The claims and findings of the beyond-the-paper stage (rows of claims.csv).", _CLAIMS),
    "collapse_claims": ("The findings of the neural-collapse stage (rows of claims.csv).", _CLAIMS),
    "scaling_claims": ("The finding of the landscape-as-Q-grows stage (a row of claims.csv).", _CLAIMS),
    "constructions": (
        "One row per (cell, replicate, L): the global construction at the default μ, its μ-boxes, "
        "assumptions and accuracy. kind: `synthetic` or `user`.",
        [
            ("cell", None),
            ("kind", "`synthetic` (a grid cell) or `user` (a user dataset)"),
            ("Q", None),
            (
                "theta",
                "cone angle θ of the synthetic mean simplex as configured (`regular` or rad); empty for user data",
            ),
            ("delta_ratio", COMMON["delta_ratio"] + "; empty for user data"),
            ("dataset", "user data: the dataset's name (config `datasets[].name`); empty for synthetic cells"),
            (
                "shrink",
                "user data: shrink factor λ toward the class means (1: the data as given); empty for synthetic cells",
            ),
            ("replicate", None),
            ("seed", None),
            ("N", None),
            ("r", None),
            ("theta_max", None),
            ("theta0", None),
            ("theta_star", None),
            ("cond_W", "condition number of the truncation layers' weight matrix W_* (1/λ_min of the cone map)"),
            ("theta_mean", "realised cone angle of the synthetic mean simplex (rad); empty for user data"),
            ("cond_xred", None),
            ("A1", None),
            ("A2", None),
            ("A3", None),
            ("all_hold", None),
            ("box_nonempty", None),
            ("box_nonempty_paper", "the μ-box with the paper's D, (−D, −2δ√Q), is non-empty"),
            ("D", "the paper's depth bound D [P 4.26] at θ_*; `-inf` never, empty when undefined"),
            ("D_eff", None),
            ("collapse_bound", None),
            ("dist_min", "min_j |x̄_j − x̄|: smallest distance of a class mean to the barycenter"),
            ("D_sup", "sup over θ_0 of D (empty when A3 fails)"),
            ("D_cap", "D at the largest θ_* with cond(W_*) ≤ 300 (empty when that θ_* is below theta_max)"),
            ("collapse_bound_exact", "the exact collapse threshold at θ_* (empty when A3 fails)"),
            ("box_nonempty_sup", "some θ_0 < π opens the box: D_sup > 2δ√Q"),
            ("box_nonempty_cap", "the same within cond(W_*) ≤ 300: D_cap > 2δ√Q"),
            ("box_nonempty_exact", "D exceeds the exact collapse threshold"),
            ("box_nonempty_exact_sup", "D exceeds the exact threshold for some θ_* (grid accumulating at π)"),
            ("L", None),
            ("cost_global", "cost C of the global construction at the default μ (D_eff)"),
            ("cost_paperD", "the same with the paper's D"),
            ("accuracy", "held-out accuracy of the induced-metric classifier"),
            ("accuracy_train", "training accuracy of the induced-metric classifier"),
            ("agreement", "fraction of held-out points where the metric rule and the network's own rule agree"),
            ("activation_margin", None),
            ("eps_safe", None),
            ("accuracy_ncm", "held-out accuracy of the nearest class mean"),
            ("mu_default", "the default μ (first entry; all entries are equal)"),
            *_BOX,
            ("status", "`ok`, `invalid: …` or `numerical: …` (then the cost columns are empty)"),
        ],
    ),
    "phase": (
        "Per synthetic (Q, θ, r, L): fractions and means over the replicates of constructions.csv.",
        [
            ("Q", None),
            ("theta", "cone angle θ of the mean simplex (`regular` or rad)"),
            ("delta_ratio", None),
            ("L", None),
            ("n", "replicates"),
            ("frac_zero", "fraction with cost_global ≤ zero_cost"),
            ("frac_assumptions", "fraction where A1–A3 hold"),
            ("frac_box_nonempty", "fraction with a non-empty μ-box (D_eff)"),
            ("frac_box_nonempty_paper", "fraction with a non-empty μ-box (the paper's D)"),
            ("frac_box_nonempty_sup", "fraction where some θ_0 opens the box"),
            ("r", "mean measured δ-ratio"),
            ("theta_max", "mean theta_max (`inf` if one replicate has `inf`)"),
            ("theta0", "mean θ_0"),
            ("theta_star", "mean θ_*"),
            ("theta_mean", "mean realised θ of the mean simplex"),
            ("accuracy", "mean held-out accuracy of the induced-metric classifier"),
            ("accuracy_ncm", "mean held-out accuracy of the nearest class mean"),
        ],
    ),
    "patterns": (
        "Per (cell, replicate, L, pattern s): the pattern networks of Thm 2.5 and their cost values "
        "(not committed: large).",
        [
            ("cell", None),
            ("kind", "`synthetic` or `user`"),
            ("Q", None),
            ("theta", "θ of the cell (empty for user data)"),
            ("delta_ratio", "r of the cell (empty for user data)"),
            ("replicate", None),
            ("r", None),
            ("theta_max", None),
            ("theta0", None),
            ("theta_star", None),
            ("all_hold", None),
            ("box_nonempty", None),
            ("L", None),
            ("s", "the pattern: one digit per class, 1 = class left intact, 0 = collapsed"),
            ("n_intact", "number of intact classes (ones in s)"),
            ("type", "`global` (no class intact), `none` (all intact), `mixed`"),
            ("value_paper", "the pattern's cost value by the paper's formula (2.85) as printed"),
            ("value_biasfree", "the pattern's cost with a least-squares output layer without bias"),
            ("value_affine", "the pattern's cost with a least-squares output layer with bias"),
            ("closed_form_error", "largest deviation of our closed forms from the least-squares values"),
            ("mu_in_box", "the pattern's μ lies in the μ-box"),
            ("mu_dependent", "the affine value varies with μ over the box"),
            ("mu_range", "max − min of the affine value over the sampled μ"),
            ("stationary", "gradient and |dF/dμ| below the stationarity tolerance (relative to |Y|_F²)"),
            ("grad_norm", "gradient norm of C² at the pattern network"),
            ("max_abs_dF_dmu", "largest |dF/dμ_j| (finite differences)"),
            ("mu_descent", "a finite step in μ inside the box lowers the cost"),
            ("descent_drop", "the cost decrease of that step (0 if none)"),
        ],
    ),
    "degeneracy": (
        "Per (cell, L, replicate, ε, draw): the global minimiser's hidden parameters perturbed by "
        "relative size ε, output refitted (not committed: large).",
        [
            ("cell", None),
            ("Q", None),
            ("L", None),
            ("replicate", None),
            ("all_hold", None),
            ("zero_at_start", "the unperturbed construction has zero cost"),
            ("eps", "relative perturbation size ε"),
            ("draw", "random direction index"),
            ("cost", "C after the perturbation (least-squares output with bias)"),
            ("flips", "(layer, unit, point) activations that changed sign"),
            ("margin", "activation margin of the unperturbed network"),
            ("eps_safe", None),
            ("cost_unperturbed", "C of the unperturbed network with the same refitted output"),
        ],
    ),
    "prop22": (
        "Per (cell, replicate) at L = Q: Prop 2.2 of the paper checked on the data.",
        [
            ("cell", None),
            ("replicate", None),
            ("tau_idempotence_err", "max |τ(τ(x)) − τ(x)| over layers and points, relative to max|X|"),
            ("tau_scale_err", "max |τ with (2.5W, 2.5b) − τ| (positive rescaling invariance), relative to max|X|"),
            ("cumulative_err", "max error of the cumulative identity X^(ℓ) = W^(ℓ) T_ℓ(X) + b^(ℓ), relative"),
        ],
    ),
    "curation": (
        "Per (cell, layer, class), replicate 0, L = Q: how the truncation layers gather each class.",
        [
            ("cell", None),
            ("layer", "truncation layer ℓ (0: the data)"),
            ("class", "class index j"),
            ("spread", "max_i |T_ℓ(x_{j,i}) − mean_i T_ℓ(x_{j,i})|: within-class spread after ℓ layers"),
        ],
    ),
    "landscape_endpoints": (
        "One row per optimiser run on a landscape cell: where it ends (not committed: large).",
        [
            *_LANDSCAPE_CELL,
            ("start", None),
            ("start_kind", "`he`, `xavier`, `global` or `none`"),
            ("rho", "relative perturbation size ρ of a perturbed start; empty for random starts"),
            ("eps_safe_start", "eps_safe of the start's unperturbed network; empty for random starts"),
            ("optimiser", None),
            ("run", None),
            ("cost", None),
            ("grad_norm", None),
            ("n_iter", None),
            ("status", "optimiser status: `converged`, `max_iter`, …"),
            ("category", None),
            ("nearest_level", None),
            ("structure", None),
            ("returned", "perturbed starts: the run returned to the start's level; empty for random starts"),
            ("start_level", "perturbed starts: the start's level (`zero` or `V_aff[1…1]`); empty otherwise"),
            (
                "path_barrier",
                "max of C on the straight path from the global minimiser to the end point, above its ends",
            ),
            ("path_peak_t", "where on that path (0..1) C peaks"),
            ("path_profile", "C at 21 points of the path (space-separated; first three runs of each group only)"),
            ("hess_status", "L-BFGS end points: Hessian status; empty otherwise"),
            ("hess_n_negative", "negative Hessian eigenvalues (L-BFGS end points)"),
            ("hess_n_zero", "numerically zero Hessian eigenvalues (L-BFGS end points)"),
            ("hess_min_eig", "smallest Hessian eigenvalue (L-BFGS end points)"),
            ("hess_n_outliers", None),
            ("hess_n_nonzero", None),
            ("hess_outlier_gap", None),
            ("dead_units", None),
            ("probe_min_rel_change", None),
        ],
    ),
    "landscape_basins": (
        "Per (landscape cell, start, optimiser, category): how many runs end in the category, "
        "with a 95 % Wilson interval.",
        [
            *_LANDSCAPE_CELL,
            ("start", None),
            ("start_kind", "`he`, `xavier`, `global` or `none`"),
            ("rho", "relative perturbation size of the start (empty for random starts)"),
            ("optimiser", None),
            ("category", None),
            ("k", "runs ending in the category"),
            ("n", "runs of the (start, optimiser) group"),
            ("p", "k / n"),
            ("wilson_lo", "lower end of the 95 % Wilson interval of p"),
            ("wilson_hi", "upper end of the 95 % Wilson interval of p"),
        ],
    ),
    "landscape_levels": (
        "Per landscape cell: every cost level an end point is classified against.",
        [
            ("cell", None),
            (
                "level",
                "`V_P[s]` (formula 2.85), `V_bf[s]`, `V_aff[s]` (least squares without/with bias) of pattern s, "
                "or `merge[…]` (classes merged, groups separated by |)",
            ),
            ("value", "the level's cost C"),
        ],
    ),
    "landscape_minima": (
        "The distinct certified non-zero local minima found by L-BFGS per landscape cell.",
        [
            ("cell", None),
            ("Q", None),
            ("kind", "`smooth`, `nonsmooth` or `nonsmooth/smooth` (where it sits)"),
            ("cost", "median C of the end points at this minimum"),
            ("category", None),
            ("nearest_level", None),
            ("structure", None),
            ("multiplicity", "end points at this minimum"),
            ("starts", "kinds of start that reached it, comma-separated"),
            ("hess_n_outliers", "Hessian outliers at the minimum's representative end point"),
            ("hess_n_nonzero", "non-zero Hessian eigenvalues there (rank of the positive part)"),
            ("hess_outlier_gap", None),
            ("dead_units", "dead hidden units of the representative end point"),
        ],
    ),
    "landscape_scaling": (
        "The landscape as Q grows (config key `landscape.scaling`): per (Q, optimiser, start type), random-start "
        "training of a network with L = Q hidden layers on data around a regular simplex with Q classes "
        "(replicate 0, the study's n_per_class and noise, δ-ratio `landscape.scaling.delta_ratio`).",
        [
            ("Q", "number of classes (= input width = hidden width = hidden layers L of the network)"),
            ("optimiser", None),
            ("start", "random start type: `he` or `xavier`"),
            ("n", "runs of the group"),
            ("k_zero", "runs whose end point has zero cost (C ≤ 1e-6, category `zero`)"),
            ("p_zero", "k_zero / n"),
            ("wilson_lo", "lower end of the 95 % Wilson interval of p_zero"),
            ("wilson_hi", "upper end of the 95 % Wilson interval of p_zero"),
            (
                "n_distinct_minima",
                "distinct certified non-zero local minima among the group's end points, by the rule of "
                "landscape_minima: an L-BFGS end point with C > 1e-6 that stopped before its iteration budget is "
                "certified when no descent is found along random directions (radii 1e-8..1e-3) and it is either "
                "stationary (gradient norm ≤ 1e-6) with no negative Hessian eigenvalue or on a ReLU kink; certified "
                "end points with the same collapse structure and cost equal to 1e-6 (relative) are one minimum. "
                "Empty for GD and Adam, whose end points are not certified",
            ),
            (
                "n_max_iter",
                "runs stopped by the iteration budget `landscape.scaling.max_iter` (not converged); an L-BFGS end "
                "point stopped there is not certified, so n_distinct_minima counts only among the others",
            ),
        ],
    ),
    "landscape_paths": (
        "Per landscape cell and pattern s: C along the μ-path from the pattern network to the "
        "global minimiser (Thm 2.5).",
        [
            *_LANDSCAPE_CELL,
            ("s", "the pattern (1 = class intact)"),
            ("type", "`mixed` (some classes intact) or `none` (s = 1…1)"),
            ("F_start", "C at the pattern network"),
            ("F_end", "C at the global minimiser"),
            ("barrier", "max of C along the path above F_start (0: no barrier)"),
            ("monotone", "C never increases along the path"),
            ("profile", "C at the path's points, space-separated"),
        ],
    ),
    "landscape_shape": (
        "Hessian of C² at the global minimiser (`global`) and the s = 1 network (`none`) per "
        "landscape cell, and how predicted zero modes explain its null space.",
        [
            *_LANDSCAPE_CELL,
            ("point", "`global` or `none`"),
            ("n_params", None),
            ("n_zero_eig", "Hessian eigenvalues within 1e-8 × the largest"),
            ("n_negative_eig", "Hessian eigenvalues below −1e-8 × the largest"),
            ("null_dim_J", "null dimension of the residual Jacobian"),
            ("hess_n_outliers", None),
            ("dead_units", None),
            ("null_dim_theory", "predicted null dimension of the Jacobian"),
            ("modes_null_dim", "null dimension of the Hessian used by the mode analysis"),
            *[
                (f"modes_{p}_{fam}", w.format(fam=fam))
                for fam in ("layer_rescaling", "rescaling", "mu", "rotation", "theta0", "output")
                for p, w in (
                    ("n", "predicted {fam} directions (empty: family not predicted at this point)"),
                    ("rank", "rank of the {fam} directions"),
                    ("in_null", "{fam} directions inside the Hessian null space"),
                )
            ],
            ("modes_rank_predicted", "rank of all predicted directions together"),
            ("modes_explained", "null-space dimension the predicted directions explain"),
            ("modes_unexplained", "null-space dimension left unexplained"),
            ("min_eig", "smallest Hessian eigenvalue"),
            ("max_eig", "largest Hessian eigenvalue"),
            ("fd_step", "finite-difference step of the Hessian"),
            ("pattern_unchanged", "no ReLU kink crossed by the finite differences"),
            ("eigenvalues", "all Hessian eigenvalues, ascending, space-separated"),
        ],
    ),
    "landscape_slice": (
        "A 2-D slice of C around the global minimiser per landscape cell.",
        [
            ("cell", None),
            ("alpha", "coordinate along the first random direction (relative)"),
            ("beta", "coordinate along the second direction (relative)"),
            ("cost", "C at the point"),
            ("eps_safe", "eps_safe of the global minimiser"),
            ("cos_d1_d2", "cosine between the two directions"),
        ],
    ),
    "robustness": (
        "One row per (axis, value, replicate): the construction beyond the paper's assumptions, one "
        "factor at a time from the base point.",
        [
            ("axis", None),
            ("value", None),
            ("x", None),
            ("replicate", None),
            ("seed", None),
            *[c for c in _MEASURE[:1]],
            ("Q", None),
            ("L", None),
            *_MEASURE[2:],
            ("realised_cond_target", "cond_xred / cond_shift axes: the condition number the means were built for"),
            ("realised_imbalance", "largest over smallest class size"),
            ("realised_label_noise", "fraction of training labels flipped"),
            ("realised_outlier_fraction", "fraction of training points that are outliers"),
        ],
    ),
    "robustness_summary": (
        "Per (axis, value): fractions and means over the replicates of robustness.csv.",
        [
            ("axis", None),
            ("value", None),
            ("x", None),
            ("Q", None),
            ("n", "replicates"),
            ("n_ok", "replicates with status ok"),
            ("frac_all_hold", "fraction where A1–A3 hold"),
            ("frac_zero_default", "fraction with zero cost at the default μ"),
            ("frac_zero_any", "fraction with zero cost at some searched μ"),
            ("frac_exact_default", "fraction with exact curation at the default μ"),
            ("frac_exact_best", "fraction with exact curation at the best μ"),
            ("r_mean", "mean r"),
            ("theta_max_mean", "mean theta_max (`inf` if one replicate has `inf`)"),
            ("cond_xred_mean", "mean cond(X^red)"),
            ("cost_default_median", "median cost at the default μ"),
            ("cost_best_median", "median best cost"),
            ("acc_metric", "mean acc_metric"),
            ("acc_best", "mean acc_best"),
            ("acc_ncm", "mean acc_ncm"),
            ("acc_logreg", "mean acc_logreg"),
        ],
    ),
    "robustness_optimisers": (
        "Gradient training from He starts at a few axis values, on replicate 0 of each.",
        [
            ("axis", None),
            ("value", None),
            ("optimiser", None),
            ("run", None),
            ("cost", "final C"),
            ("status", "optimiser status"),
            ("n_iter", None),
            ("zero", "final C ≤ 1e-6 (the optimisers' zero threshold)"),
        ],
    ),
    "realdata": (
        "One row per (dataset, projection, λ): real data projected to R^Q and shrunk toward the training "
        "class means, x ← x̄_j + λ(x − x̄_j); the network has L = Q layers.",
        [
            ("dataset", "bundled scikit-learn dataset or the user dataset's name (config `datasets[].name`)"),
            ("projection", "`lda`, `simplex`, `pca` or `none` (docs/mathematics.md, real data)"),
            ("lambda", "shrink factor λ (1: the data as given, 0: every point on its class mean)"),
            *_MEASURE,
        ],
    ),
    "realdata_summary": (
        "One row per (dataset, projection): the λ-independent facts of the projected data and "
        "where, in λ, the assumptions and zero cost stop.",
        [
            ("dataset", "bundled scikit-learn dataset or the user dataset's name (config `datasets[].name`)"),
            ("projection", "`lda`, `simplex`, `pca` or `none`"),
            ("Q", None),
            ("n_points", "points in the dataset"),
            ("n_features", "feature columns of the dataset"),
            ("n_train", "training points (after robustness.realdata.max_train)"),
            ("n_test", "held-out points"),
            ("A1", "A1 holds for the projected training class means (does not depend on λ)"),
            ("cond_xred", "cond(X^red) of the projected training class means (does not depend on λ)"),
            (
                "constant_coordinate",
                "the constant last coordinate c that lda and pca append; empty for simplex and none",
            ),
            (
                "cond_barycentric_map",
                "simplex: condition number of the map to barycentric coordinates; empty otherwise",
            ),
            ("pca_explained_variance", "pca: variance fraction kept by the Q − 1 components; empty otherwise"),
            ("silhouette_features", "silhouette score of the standardised original features (training part)"),
            ("davies_bouldin_features", "Davies–Bouldin index of the standardised original features (training part)"),
            (
                "silhouette_at_lambda1",
                "silhouette score of the projected training data at λ = 1 (empty if λ = 1 is not swept)",
            ),
            (
                "davies_bouldin_at_lambda1",
                "Davies–Bouldin index of the projected training data at λ = 1 (empty if λ = 1 is not swept)",
            ),
            ("r_at_lambda1", "δ-ratio r at λ = 1; r(λ) = λ r(1), so A2 holds for λ < 1/(4 r(1))"),
            ("theta_max_at_lambda0", "theta_max at λ = 0 (rad): ≥ π means A3 fails at every λ (obtuse mean simplex)"),
            ("theta_max_at_lambda1", "theta_max at λ = 1 (rad); `inf`: a noise ball reaches another class mean"),
            ("lambda_A2", "exact λ where A2 stops holding, 1/(4 r(1)); `inf` when δ = 0"),
            ("lambda_A3", "exact λ where A3 stops holding (bisection); 0: A3 fails at λ = 0 already; `inf` when δ = 0"),
            (
                "lambda_assumptions",
                "min(lambda_A2, lambda_A3): A1–A3 hold exactly for λ below it; empty: they hold "
                "for no λ (A1 fails or lambda_A3 = 0)",
            ),
            (
                "lambda_assumptions_grid",
                "last grid λ up to which A1–A3 hold at every grid λ; empty: not at the smallest",
            ),
            (
                "lambda_zero_default_grid",
                "last grid λ up to which the default μ has zero cost at every grid λ; empty: not at the smallest",
            ),
            (
                "lambda_exact_default_grid",
                "last grid λ up to which the curation at the default μ is exact; empty: not at the smallest",
            ),
            (
                "lambda_zero_any_grid",
                "last grid λ up to which some searched μ has zero cost at every grid λ; empty: not at the smallest",
            ),
            (
                "lambda_zero_any_refined",
                "last λ with zero cost at some searched μ, refined by bisection toward the "
                "next grid λ (robustness.realdata.refine steps); with zero_any_extent "
                "`whole_sweep` the largest grid λ (a lower bound); empty when `never`",
            ),
            (
                "lambda_zero_any_lost",
                "first λ found without zero cost (upper end of the bisection bracket); empty "
                "unless zero_any_extent is `lost_in_sweep`",
            ),
            (
                "zero_any_extent",
                "`lost_in_sweep` (zero cost stops between lambda_zero_any_refined and "
                "lambda_zero_any_lost), `whole_sweep` (zero cost at every grid λ: it never stops in "
                "the sweep) or `never` (no zero cost at the smallest grid λ)",
            ),
            ("acc_metric_at_lambda1", "acc_metric at λ = 1 (empty if λ = 1 is not swept)"),
            ("acc_best_at_lambda1", "acc_best at λ = 1 (empty if λ = 1 is not swept)"),
            ("acc_ncm_at_lambda1", "acc_ncm at λ = 1 (empty if λ = 1 is not swept)"),
            ("acc_logreg_at_lambda1", "acc_logreg (projected features) at λ = 1 (empty if λ = 1 is not swept)"),
            (
                "acc_logreg_all_features",
                "held-out accuracy of logistic regression on all standardised original "
                "features (does not depend on λ or the projection)",
            ),
        ],
    ),
    "highdim": (
        "Inputs in R^M with M ≥ Q: the Q+1-layer construction (embedding on the class means, or PCA) "
        "against the direct R^Q construction. method: `means_embed`, `means_fused`, `means_near`, "
        "`pca_embed`, `rq_direct`.",
        [
            ("Q", None),
            ("M", None),
            ("delta_ratio", "δ-ratio of the R^Q data before embedding"),
            ("perp_scale", "size of the noise orthogonal to the means' span, in units of δ"),
            ("replicate", None),
            ("method", "the construction compared (see the table description)"),
            ("projection", "`means` (span of the class means), `pca` or `none`"),
            ("layers", "`embed` (an embedding layer, Q+1 layers), `fused` (fused into the first layer) or `paper`"),
            ("mu", "`box` (default μ in the box) or `near` (apex at 2.5 δ_V)"),
            ("status", None),
            ("cost", "cost C of the construction"),
            ("zero", "C ≤ zero_cost × Y_norm"),
            ("Y_norm", None),
            ("n_hidden", "hidden layers"),
            ("n_params", None),
            ("r_M", "δ-ratio of the data in R^M"),
            ("r_Q", "δ-ratio of the R^Q data"),
            ("r_V", "δ-ratio after the projection to the Q-dim. subspace V"),
            ("theta_max_V", "theta_max after the projection (rad; `inf`: a noise ball reaches another mean)"),
            ("all_hold", "A1–A3 hold after the projection"),
            ("A2", "A2 holds after the projection"),
            ("A3", "A3 holds after the projection"),
            ("mu_in_box", "the μ used lies in the μ-box"),
            ("cond_zred", "cond of the projected class means"),
            ("activation_margin", None),
            ("pca_captured", "fraction of the class means' energy inside the PCA subspace"),
            ("N", None),
            ("seed", None),
        ],
    ),
    "sls": (
        "Sequentially linearly separable data: every class ordering of each dataset, with the follow-up's "
        "construction. kind: `hand`, `shadow` or `clustered`.",
        [
            ("kind", "`hand` (hand-made example), `shadow` (satellites block some orderings) or `clustered`"),
            ("Q", None),
            ("M", None),
            ("replicate", None),
            ("ordering", "the class ordering (digits)"),
            ("status", "`feasible`, or why the ordering fails"),
            ("feasible", "the ordering admits the construction"),
            ("failed_step", "first step that fails (empty when feasible)"),
            ("reason", "why it fails (empty when feasible)"),
            ("push", "push-out steps used"),
            ("violates_block", "the ordering puts a class before one that blocks it (shadow data)"),
            ("min_gamma", "smallest separation margin γ over the steps"),
            ("min_margin", "smallest step margin (feasible orderings)"),
            ("max_theta", "largest cone angle used (rad)"),
            ("max_cond", "largest condition number of the cumulative weights"),
            ("cost", "cost C of the network"),
            ("zero", "C ≤ zero_cost × Y_norm"),
            ("cost_formula_output", "C with the output layer by formula"),
            ("cost_input_space", "C of the affine output applied to the truncated data in input space"),
            ("zero_input_space", "cost_input_space ≤ zero_cost × Y_norm"),
            ("truncation_error", "max distance of a truncated point to its class's target point"),
            ("Y_norm", None),
            ("n_numbers", "numbers describing the data, Q(M + 2)"),
            ("n_params", None),
            ("n_orderings_total", "Q! orderings in all"),
            ("seed", None),
        ],
    ),
    "shallow": (
        "The shallow (one hidden layer) network: the paper's bounds against the exact values over a sweep "
        "of the cluster radius; each value computed by formula, least squares and network where "
        "named. mode: `shrink`, `fresh` or `train`.",
        [
            ("Q", None),
            ("mode", "`shrink` (one draw scaled down), `fresh` (a new draw per radius) or `train`"),
            ("replicate", None),
            ("level", "index of the radius in the sweep (−1: training row)"),
            ("delta_ratio", None),
            ("delta_P", "δ_P = max |(X^red)^{-1} Δx|: noise in the means' coordinates"),
            ("norm_Delta2", "‖Δ₂‖, spectral norm of the scatter in the means' coordinates"),
            ("B", "the paper's upper bound B (closed form)"),
            ("B_network", "B as the cost of the explicit network"),
            ("V", "the minimum V of the bias-free shallow cost (closed form)"),
            ("V_paper_formula", "V by the paper's formula (2.85)"),
            ("V_lstsq", "V by least squares"),
            ("V_network", "V as the cost of the explicit network"),
            ("gap_rel", "(B − V)/B"),
            ("gap_bound", "bound on gap_rel: ‖Δ₂‖"),
            ("gap_bound_Q", "bound on gap_rel: Q δ_P²"),
            ("V_aff", "the minimum with an output bias (closed form)"),
            ("V_aff_lstsq", "V_aff by least squares"),
            ("V_aff_network", "V_aff as the cost of the explicit network"),
            ("ratio_aff", "V_aff / V"),
            ("V_train", "train rows: best C of L-BFGS on the shallow network; empty otherwise"),
            ("V_train_from_aff", "train rows: C of L-BFGS started at the best affine network; empty otherwise"),
            ("train_runs", "train rows: He starts; empty otherwise"),
            ("train_iter", "train rows: L-BFGS iterations per run; empty otherwise"),
            ("seed", None),
        ],
    ),
    "neural_collapse": (
        "Neural collapse layer by layer: per (cell, source, optimiser, start, category, layer), "
        "medians over the networks of the group. source: `global`, `s1`, `trained_zero`, "
        "`trained_minimum`.",
        [
            ("cell", None),
            (
                "source",
                "`global` (constructed minimiser), `s1` (s = 1 network), `trained_zero` (trained end points with "
                "C ≤ 1e-6), `trained_minimum` (certified non-zero L-BFGS minima)",
            ),
            ("optimiser", "optimiser of trained sources; `-` for constructed networks"),
            ("start", "start of trained sources; `-` for constructed networks"),
            ("layer", "layer 1..L+1 (L+1: the output)"),
            ("nc1_papyan", "median Papyan NC1 = Tr(Σ_W Σ_B⁺)/Q; `inf` when Σ_B = 0 and Σ_W ≠ 0; empty when both are 0"),
            ("nc2_vs_targets", "median NC2 against the centred targets' Gram matrix"),
            (
                "nc3_vs_targets",
                "median NC3 against the targets (self-duality with the output weights; last hidden layer "
                "only, else empty)",
            ),
            (
                "nc4_ncc_mismatch",
                "median NC4 as a mismatch rate: fraction of points where the network's decision differs "
                "from the nearest class mean",
            ),
            ("layer_kind", "`hidden` or `output`"),
            ("category", "trained sources: end-point category; `-` for constructed networks"),
            ("Q", None),
            ("L", None),
            ("n_networks", "networks in the group"),
            ("nc1_trace_ratio", "median Tr Σ_W / Tr Σ_B (`inf` when Tr Σ_B = 0 and Tr Σ_W ≠ 0)"),
            ("nc2_vs_etf", "median NC2 against the simplex ETF (the field's NC2)"),
            ("nc3_papyan", "median Papyan NC3 (against the centred means; last hidden layer only, else empty)"),
            ("cdnv", "median class-distance normalised variance (Galanti et al.); `inf` when two class means coincide"),
            ("separation_fuzziness", "median He & Su separation fuzziness D = Tr(SS_w SS_b⁺) (sample-weighted)"),
            ("spread_max", "median largest within-class spread (relative to the layer's scale)"),
            ("frac_classes_collapsed", "mean fraction of classes collapsed at this layer"),
            ("frac_staircase", "fraction of networks whose classes collapse at distinct hidden layers"),
            ("frac_all_last_hidden", "fraction of networks whose classes all collapse at the last hidden layer"),
            ("frac_not_collapsed_hidden", "fraction of networks with a class not collapsed at any hidden layer"),
            ("collapse_layers_mode", "most frequent collapse-layer pattern, one layer per class joined by `-`"),
            ("cost_median", "median cost C of the group's networks"),
        ],
    ),
    "separation": (
        "He & Su's law of data separation: per (cell, source, optimiser, start, category), the "
        "least-squares fit log D_ℓ = log D_0 + ℓ log ρ of every network through its layers 0..L with "
        "D_ℓ > 0 (docs/mathematics.md §9).",
        [
            ("cell", None),
            ("source", "`global`, `s1`, `trained_zero` or `trained_minimum` (as in neural_collapse)"),
            ("optimiser", "optimiser of trained sources; `-` for constructed networks"),
            ("start", "start of trained sources; `-` for constructed networks"),
            ("category", "trained sources: end-point category; `-` for constructed networks"),
            ("Q", None),
            ("L", None),
            ("n_networks", "networks in the group"),
            ("n_fitted", "networks with at least two layers of positive D (a fit exists)"),
            ("rho_median", "median fitted decay ratio ρ per layer over the fitted networks"),
            ("rho_q25", "lower quartile of ρ"),
            ("rho_q75", "upper quartile of ρ"),
            ("pearson_r_median", "median Pearson r of the fits (empty for two-layer fits only)"),
            ("n_geometric_fit", "networks whose fit uses at least three layers with r ≤ −0.9 (a geometric decay)"),
            ("n_two_layer_fits", "networks fitted through exactly two layers (|r| = 1 by construction)"),
            ("n_layers_fitted_median", "median number of layers in the fit"),
            (
                "n_layers_all_collapsed_median",
                "median number of layers 0..L with every class collapsed (D = 0, left out)",
            ),
            ("fuzziness_input_median", "median D of the input layer"),
            ("fuzziness_last_hidden_median", "median D of the last hidden layer"),
            ("status", "`ok`, or `too_few_layers` (no network of the group has two layers with D > 0)"),
        ],
    ),
    "width_plus_one": (
        "Per distinct certified non-zero minimum, representative and embedding: can one extra "
        "neuron per layer (width Q+1) escape it?",
        [
            ("cell", None),
            ("Q", None),
            ("L", None),
            ("minimum", "index of the distinct minimum within the cell"),
            ("representative", "index of the end point representing it"),
            ("level_type", "`class-merging`, `pattern` or `other`"),
            ("nearest_level", None),
            ("structure", None),
            ("kind", "`smooth` or `nonsmooth` minimum"),
            ("multiplicity", "end points at this minimum"),
            ("embedding", "how the width-Q network is embedded in width Q+1: `zero`, `zero_out`, `split`"),
            ("escapable", "the escape test lowered C below cost_before (relative)"),
            ("cost_before", "C of the width-Q minimum"),
            ("cost_embedded", "C right after the embedding"),
            ("cost_after", "C after the escape test"),
            ("rel_drop", "(cost_before − cost_after) / cost_before"),
            ("method", "the step that escaped (`gradient`, `hessian`, `random`, `lbfgs`) or `none`"),
            ("status", "escape-test status (`kink`: Hessian skipped on a ReLU kink)"),
            ("grad_norm", None),
            ("min_hess_eig", "smallest Hessian eigenvalue of C² at the embedded network (empty when skipped)"),
            ("probe_min_rel_change", None),
            ("n_iter", "L-BFGS iterations of the escape test"),
            ("start", "start of the run that found the minimum"),
            ("optimiser", None),
            ("run", None),
            ("choice", "the embedding's random choices as JSON"),
            ("seed", None),
        ],
    ),
}


def column_names(table: str) -> list[str]:
    """The columns of ``table``, in order (KeyError for an unknown table)."""
    return [c for c, _ in TABLES[table][1]]


def _meaning(column: str, meaning: str | None) -> str:
    return COMMON[column] if meaning is None else meaning


def render_tables_reference() -> str:
    """The Markdown text of ``docs/tables.md``."""
    lines = [
        "# The study's tables",
        "",
        "<!-- generated by python -m dlgeom.study.table_columns from src/dlgeom/study/table_columns.py; "
        "do not edit -->",
        "",
        "Every table a study writes to `results/<study>/tables/`, column by column. "
        "`patterns.csv`, `degeneracy.csv` and `landscape_endpoints.csv` are large: they are written by every "
        "run but not committed. A test checks that the committed tables and a fresh tiny study have exactly "
        "these columns.",
        "",
        "## Conventions",
        "",
    ]
    lines += [f"* {c}" for c in CONVENTIONS]
    for name in sorted(TABLES):
        description, columns = TABLES[name]
        lines += ["", f"## {name}.csv", "", description, "", "| column | meaning |", "|---|---|"]
        lines += [f"| `{c}` | {_meaning(c, m).replace('|', '&#124;')} |" for c, m in columns]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dlgeom.study.table_columns", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/tables.md differs from the generated text")
    ap.add_argument("--out", default=str(REFERENCE), help="the file to write or check (default docs/tables.md)")
    args = ap.parse_args(argv)
    text, out = render_tables_reference(), Path(args.out)
    if args.check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(f"{out} is out of date: run python -m dlgeom.study.table_columns", file=sys.stderr)
            return 1
        return 0
    with open_output(out) as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
