"""When a cost counts as zero: the two thresholds of the library and the study, in one place.

* :data:`ZERO_COST`: a *constructed* network (or any cost the code computes in closed form) with
  C at or below this counts as zero cost.  It is the default of every ``zero_cost`` argument and
  ``--zero-cost`` option, and of the study config key ``zero_cost``
  (``workflow/schemas/config.schema.yaml``); a study passes its configured value to every stage.
* :data:`OPTIMISER_ZERO`: an *optimiser end point* (GD, Adam, L-BFGS from random or perturbed
  starts) with C at or below this counts as zero.  Gradient training stops far above the rounding
  level of a construction, so this threshold is larger on purpose.
"""

from __future__ import annotations

__all__ = ["OPTIMISER_ZERO", "ZERO_COST"]

#: C at or below this counts as zero cost (the default of the study config key ``zero_cost``).
ZERO_COST = 1e-10
#: An optimiser end point with C at or below this counts as zero.
OPTIMISER_ZERO = 1e-6
