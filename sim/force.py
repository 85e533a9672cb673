"""Kim et al. (2016, Sci Rep 6:31297) two-tube aortic model of the BCG force.

F = A_D (P1 − P2) − A_A (P0 − P1)   [N, head-to-foot positive]

with A_A the ascending and A_D the descending aortic cross-section (m²) and pressures in mmHg
(converted with 1 mmHg = 133.322 Pa). The first term is the descending aorta's pressure gradient
pulling the body footward, the second the ascending aorta's gradient pushing it headward;
their race as the pulse crosses the arch makes the I, J and K waves.
"""

from __future__ import annotations

import numpy as np

from .hemodynamics import MMHG

__all__ = ["kim_force"]


def kim_force(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, *, area_asc: float,
              area_desc: float) -> np.ndarray:
    """BCG force in N from aortic pressures in mmHg (any shape, broadcast).

    Parameters
    ----------
    p0, p1, p2
        Root, arch and descending-outlet pressures, mmHg.
    area_asc, area_desc
        A_A and A_D in m², > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sim.force import kim_force
    >>> float(kim_force(np.array(100.0), np.array(95.0), np.array(85.0),
    ...                 area_asc=5.6e-4, area_desc=3.3e-4))  # doctest: +ELLIPSIS
    0.066...
    """
    for name, v in (("area_asc", area_asc), ("area_desc", area_desc)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} = {v!r} m^2 is out of range; allowed (0, inf) m^2")
    p0, p1, p2 = (np.asarray(p, dtype=float) for p in (p0, p1, p2))
    for name, p in (("p0", p0), ("p1", p1), ("p2", p2)):
        if not np.all(np.isfinite(p)):
            raise ValueError(f"{name} contains NaN or inf")
    return MMHG * (area_desc * (p1 - p2) - area_asc * (p0 - p1))
