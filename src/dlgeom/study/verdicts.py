"""The verdict engine: one catalogue of claims and findings, one rule from counts to verdicts.

Every row of ``claims.csv`` has a stable ``id`` from :data:`CATALOGUE`, whose ``kind`` is

* ``claim`` — a statement the paper (or, marked so, a companion paper) makes, quoted or
  paraphrased with its equation or theorem.  Its verdict follows from two counts:
  ``n_cases`` (cases the statement applies to) and ``n_counter`` (cases that contradict it):
  ``untested`` if n_cases = 0, ``holds`` if n_counter = 0, ``holds with correction`` if
  n_counter > 0 but the stated correction removes every counterexample (``n_counter_corrected``
  = 0), ``fails`` otherwise;
* ``finding`` — a question of ours and its answer, worded neutrally; verdict ``finding``.

A row's id, kind, statement and reference never depend on which stages ran: a stage that did
not run leaves ``untested`` (claims) or an empty ``finding`` with n_cases = 0.  The vocabulary
is defined in docs/claims.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .evidence import render

__all__ = [
    "COLUMNS",
    "NO_CASE",
    "VERDICTS",
    "Entry",
    "CATALOGUE",
    "verdict",
    "make_row",
    "empty_row",
    "assemble",
    "render_markdown",
]

COLUMNS = ["id", "kind", "statement", "reference", "verdict", "n_cases", "n_counter", "evidence"]
VERDICTS = {"claim": ("holds", "holds with correction", "fails", "untested"), "finding": ("finding",)}
NO_CASE = "no applicable case in this study"


@dataclass(frozen=True)
class Entry:
    kind: str
    statement: str
    reference: str
    stage: str


def _c(statement, reference, stage="construct"):
    return Entry("claim", statement, reference, stage)


def _f(statement, reference, stage="construct"):
    return Entry("finding", statement, reference, stage)


#: Every row of the claims table, in table order.
CATALOGUE: dict[str, Entry] = {
    # --- the paper's statements, construction stage ---
    "prop22": _c(
        "τ_{W,b} is idempotent and invariant under positive rescaling of (W, b); the hidden layers act as L "
        "truncations in input space followed by an affine map",
        "Prop 2.2, (2.43)-(2.45)",
    ),
    "thm23_zero": _c(
        "For L ≥ Q and data satisfying A1-A3, the network of §4 has zero cost (checked at the default μ "
        "of the μ-box with θ_0 chosen to open it; cases with an empty box are outside the hypotheses)",
        "Thm 2.3, (4.56)-(4.74)",
    ),
    "thm23_box": _c(
        "Every μ ∈ (−D, −2δ|u_Q|)^Q, with D from (4.26), gives a global minimiser (zero cost)", "Thm 2.3, (4.26)"
    ),
    "thm24_value": _c(
        "L = Q, pattern s = (1, …, 1) (no class collapsed): the minimum of the cost over W_{L+1} and "
        "b_{L+1} equals the value (2.71)",
        "Thm 2.4, (2.71), (2.85)",
    ),
    "thm24_degenerate": _c(
        "L = Q, s = (1, …, 1): the point is a degenerate local minimum (stationary, its value constant in μ)", "Thm 2.4"
    ),
    "thm25_mixed": _c("L = Q, mixed patterns s: the network is a local minimum with value (2.85)", "Thm 2.5, (2.85)"),
    "thm25_count": _c(
        "L = Q: there are 2^Q − 1 distinct degenerate local minima, one per pattern s ≠ 0", "Thm 2.4-2.5"
    ),
    "thm25_mu_path": _c(
        "L = Q, mixed patterns s are local minima: no descent along the μ-path towards the global minimiser",
        "Thm 2.5",
        stage="landscape",
    ),
    "degeneracy_perturb": _c(
        "The global minimiser is degenerate: the cost stays zero under small perturbations of "
        "the hidden weights and biases (output layer re-solved)",
        "(2.58), §4.3",
    ),
    "flat_directions": _c(
        "The degenerate directions the paper names (the μ-box, and one positive rescaling per layer) "
        "are flat directions of the global minimiser",
        "(2.58), (2.66)",
        stage="landscape",
    ),
    "metric_classifier": _c(
        "Points within δ of a class mean are classified to that class by the induced metric, "
        "and the metric rule equals the network's rule",
        "(2.61)-(2.68)",
    ),
    "robust_sufficient": _c(
        "Where A1-A3 hold, the construction has zero cost (robustness axes and real data; "
        "cases with an empty μ-box are outside the hypotheses)",
        "Thm 2.3 (2.14, 2.48-2.52)",
        stage="robustness",
    ),
    "highdim_zero": _c(
        "[2405.07098] M ≥ Q: the Q+1-layer construction (embedding onto the span of the mean "
        "differences, then one collapse per class) has zero cost for clustered data in R^M",
        "arXiv 2405.07098 (docs/mathematics.md §8)",
        stage="beyond",
    ),
    "highdim_near": _c(
        "[2405.07098] The apex at distance μ ∈ (2δ, 3δ) from the class mean collapses every class: zero cost",
        "arXiv 2405.07098 (docs/mathematics.md §8)",
        stage="beyond",
    ),
    "sls_zero": _c(
        "[2405.07098] Sequentially linearly separable data: every feasible ordering gives a zero-cost "
        "network described by Q(M+2) numbers",
        "arXiv 2405.07098 (docs/mathematics.md §8)",
        stage="beyond",
    ),
    "shallow_slope": _c(
        "[2309.10370] Shallow network: log((B − V)/B) against log δ_P has slope 2",
        "arXiv 2309.10370, [P 2.54] (docs/mathematics.md §8)",
        stage="beyond",
    ),
    # --- our questions ---
    "box_assumed": _f(
        "§4 assumes D > 2δ|u_Q| (a non-empty μ-box); whether A1-A3 imply it: cases where A1-A3 hold "
        "and the box is empty for the chosen θ_0, for every θ_0, and with the exact collapse threshold",
        "Thm 2.3, (4.24)-(4.26); docs/mathematics.md §3",
    ),
    "box_failing_set": _f(
        "The part of the paper's μ-box that misses zero cost, and how it relates to min_j |x̄_j − x̄|",
        "Thm 2.3, (4.26); docs/mathematics.md §3",
    ),
    "thm23_outside": _f("The construction's cost outside A1-A3 (default μ)", "Thm 2.3 (2.14, 2.48-2.52)"),
    "patterns_extra_layers": _f(
        "The pattern networks with L = Q + 2 (two extra identity layers)", "Thm 2.4-2.5 beyond L = Q"
    ),
    "closed_forms": _f(
        "Closed forms of the pattern values: bias-free least squares = (2.85) with the curated X^red; "
        "affine least squares = V_aff",
        "docs/mathematics.md §5",
    ),
    "training_zero": _f(
        "Gradient training from random starts: fraction of runs reaching zero cost",
        "Thm 2.3 vs training",
        stage="landscape",
    ),
    "landscape_scaling": _f(
        "Random-start training on a regular simplex with L = Q as Q grows: the fraction of runs reaching "
        "zero cost per optimiser and start (Wilson 95 %), and the number of distinct certified non-zero minima",
        "Thm 2.3 vs training, Q = 2..8; docs/claims.md",
        stage="landscape",
    ),
    "training_levels": _f(
        "Where the non-zero end points of training sit (pattern levels (2.85), class-merging levels, elsewhere)",
        "Thm 2.4-2.5 vs training",
        stage="landscape",
    ),
    "training_hessian": _f(
        "Non-zero L-BFGS end points from random starts: sign of the Hessian spectrum",
        "Thm 2.4-2.5 vs training",
        stage="landscape",
    ),
    "training_connected": _f(
        "Zero-cost end points of training vs the constructed minimiser: barrier on the straight "
        "path (after aligning permutations and rescaling)",
        "Thm 2.3 family vs training",
        stage="landscape",
    ),
    "training_attraction": _f(
        "Training started from a perturbation of the global minimiser: fraction returning to zero cost",
        "(2.58), §4.3 vs training",
        stage="landscape",
    ),
    "other_minima": _f(
        "Certified non-zero local minima found by training that are not at a pattern level (2.85) "
        "(the paper makes no statement about other minima)",
        "Thm 2.4-2.5, other local minima",
        stage="landscape",
    ),
    "hessian_outliers": _f(
        "Hessian outliers (eigenvalues above 1e-3 x the largest) at certified non-zero minima and "
        "zero-cost L-BFGS end points vs the Q² non-zero eigenvalues of the constructed minimiser",
        "arXiv 2404.06106; docs/mathematics.md §9",
        stage="landscape",
    ),
    "dead_units": _f(
        "Certified non-zero local minima: hidden units inactive on every training point; minima without "
        "any dead unit lie outside the shallow-network picture in which bad minima come from dead "
        "neurons",
        "arXiv 2103.10922; docs/mathematics.md §9",
        stage="landscape",
    ),
    "zero_modes": _f(
        "Zero eigenvalues of the Hessian at the global minimiser vs #params − rank J",
        "docs/mathematics.md §6",
        stage="landscape",
    ),
    "flat_extended": _f(
        "Our extensions of the degenerate directions (per-unit rescaling, rotations about û, θ_0, "
        "affine output interpolants): flat, and how much of the null space all directions explain",
        "(2.58), (2.66); docs/mathematics.md §6",
        stage="landscape",
    ),
    "robust_necessary": _f(
        "Outside A1-A3 on the robustness axes: cases where some searched μ still gives zero cost",
        "Thm 2.3 (2.14, 2.48-2.52)",
        stage="robustness",
    ),
    "realdata_lambda": _f(
        "Real data shrunk toward the class means by λ: the largest λ with zero cost vs the largest λ where A1-A3 hold",
        "Thm 2.3 on real data",
        stage="robustness",
    ),
    "realdata_accuracy": _f(
        "Held-out accuracy of the constructed network where it reaches zero cost, vs the nearest "
        "class mean and logistic regression",
        "(2.61)-(2.68) beyond the assumptions",
        stage="robustness",
    ),
    "a1_output_bias": _f(
        "Near-singular X^red (A1 nearly violated): cost of the paper's output layer (4.74) vs a "
        "least-squares affine output layer",
        "A1 (2.14), (4.74)",
        stage="robustness",
    ),
    "robust_training": _f(
        "Gradient training from random starts at the robustness points: fraction reaching zero cost",
        "Thm 2.3 vs training",
        stage="robustness",
    ),
    "collapse_layers": _f(
        "Trained zero-cost networks from random starts: the hidden layer at which each class "
        "collapses (one class per layer, as in the construction, or otherwise)",
        "neural collapse (Papyan, Han & Donoho 2020) vs Thm 2.3",
        stage="collapse",
    ),
    "collapse_last_hidden": _f(
        "Neural collapse at the last hidden layer (NC1-NC4 adapted to the L² cost with targets "
        "Y): trained zero-cost minima vs the constructed minimiser",
        "neural collapse (Papyan, Han & Donoho 2020) vs Thm 2.3",
        stage="collapse",
    ),
    "collapse_cdnv": _f(
        "The field's neural-collapse metrics from the input (layer 0) to the last hidden layer: CDNV, "
        "Papyan's NC1, NC2 against the simplex ETF, Papyan's NC3 and NC4 (mismatch with the nearest "
        "class centre), trained end points vs the constructed networks",
        "arXiv 2112.15121 (CDNV); Papyan, Han & Donoho 2020; docs/mathematics.md §9",
        stage="collapse",
    ),
    "separation_law": _f(
        "He & Su's law of data separation: does the separation fuzziness D_l = Tr(SS_w SS_b⁺) decay "
        "geometrically over the layers (fitted rate rho and Pearson r), for the constructed "
        "minimiser (a staircase to D = 0), the s = 1 network and trained end points",
        "arXiv 2210.17020; docs/mathematics.md §9",
        stage="collapse",
    ),
    "width_escape": _f(
        "Certified non-zero local minima embedded in width Q+1 (function-preserving): which become "
        "escapable at the same cost, and the cost then reached",
        "cf. arXiv 2006.01005 vs Thm 2.4-2.5",
        stage="collapse",
    ),
    "highdim_pca": _f(
        "PCA to Q dimensions, then the construction in R^Q, vs the construction in R^M",
        "comparison beyond the paper",
        stage="beyond",
    ),
    "sls_ordering": _f(
        "Whether data are sequentially linearly separable depends on the ordering of the classes",
        "arXiv 2405.07098 (docs/mathematics.md §8)",
        stage="beyond",
    ),
    "sls_certificates": _f(
        "The LP feasibility verdicts vs geometric certificates of infeasibility", "dlgeom.sequential", stage="beyond"
    ),
    "shallow_closed": _f(
        "Shallow network: closed forms of B, V, V_aff and the bound (B − V)/B ≤ Qδ_P²",
        "docs/mathematics.md §5, §8",
        stage="beyond",
    ),
    "shallow_bias": _f(
        "Shallow network: the minimum with the free output bias (V_aff) vs the bias-free value V, and vs training",
        "docs/mathematics.md §8",
        stage="beyond",
    ),
}


def verdict(kind: str, n_cases: int, n_counter: int, n_counter_corrected: int | None = None) -> str:
    """The verdict rule of docs/claims.md."""
    if kind == "finding":
        return "finding"
    if n_cases <= 0:
        return "untested"
    if n_counter <= 0:
        return "holds"
    if n_counter_corrected is not None and n_counter_corrected <= 0:
        return "holds with correction"
    return "fails"


def make_row(
    key: str, n_cases: int, n_counter: int, evidence: str | dict, n_counter_corrected: int | None = None
) -> dict:
    """One table row for catalogue entry ``key`` (KeyError for an unknown key).  For a finding
    ``n_counter`` counts the cases answering the question in the negative as worded in the
    evidence (0 when not meaningful).

    ``evidence``: the row's numbers (a dict, rendered with the template of ``key`` by
    :func:`dlgeom.study.evidence.render` and kept on the row under ``numbers``, which is not a
    column of the table), or a ready text.  With no case the evidence is :data:`NO_CASE`."""
    e = CATALOGUE[key]
    n_cases, n_counter = int(n_cases), int(n_counter)
    if not 0 <= n_counter <= max(n_cases, 0):
        raise ValueError(f"{key}: n_counter must lie in [0, n_cases = {n_cases}], got {n_counter}")
    numbers = dict(evidence) if isinstance(evidence, dict) else None
    if not n_cases:
        text = NO_CASE
    elif numbers is not None:
        text = render(key, numbers)
    else:
        text = evidence
    return {
        "id": key,
        "kind": e.kind,
        "statement": e.statement,
        "reference": e.reference,
        "verdict": verdict(e.kind, n_cases, n_counter, n_counter_corrected),
        "n_cases": n_cases,
        "n_counter": n_counter if n_cases else 0,
        "evidence": text,
        "numbers": numbers,
    }


def empty_row(key: str) -> dict:
    """The row of an entry with no applicable case (its stage did not run, or no case applies)."""
    return make_row(key, 0, 0, NO_CASE)


def assemble(rows, keys=None) -> pd.DataFrame:
    """The claims table: one row per catalogue key (all of them, or ``keys``), in catalogue
    order, claims first then findings; keys without a row get :func:`empty_row`.  A row whose
    id is not in the catalogue, or an id given twice, is an error."""
    by_id = {}
    for r in rows:
        if r["id"] not in CATALOGUE:
            raise ValueError(f"claims row id {r['id']!r}: not in the catalogue")
        if r["id"] in by_id:
            raise ValueError(f"claims row id {r['id']!r}: given twice")
        by_id[r["id"]] = r
    keys = list(CATALOGUE) if keys is None else list(keys)
    ordered = [k for k in CATALOGUE if k in keys and CATALOGUE[k].kind == "claim"] + [
        k for k in CATALOGUE if k in keys and CATALOGUE[k].kind == "finding"
    ]
    return pd.DataFrame([by_id.get(k) or empty_row(k) for k in ordered], columns=COLUMNS)


def _cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_markdown(claims: pd.DataFrame) -> str:
    """claims.md: the claims table, then the findings table."""
    out = [
        "## Claims of the paper",
        "",
        "| id | statement | reference | verdict | n_cases | n_counter | evidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in claims[claims["kind"] == "claim"].itertuples(index=False):
        out.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (r.id, r.statement, r.reference, f"**{r.verdict}**", r.n_cases, r.n_counter, r.evidence)
            )
            + " |"
        )
    out += [
        "",
        "## Findings (our questions)",
        "",
        "| id | question | reference | n_cases | n_counter | answer |",
        "|---|---|---|---|---|---|",
    ]
    for r in claims[claims["kind"] == "finding"].itertuples(index=False):
        out.append(
            "| "
            + " | ".join(_cell(v) for v in (r.id, r.statement, r.reference, r.n_cases, r.n_counter, r.evidence))
            + " |"
        )
    return "\n".join(out) + "\n"
