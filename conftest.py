"""pytest set-up for the notebooks that `make nbval` checks (``_build/nbval/``).

nbval waits a fixed 5 s for a cell's output messages after the kernel has replied that the cell
finished; on a loaded machine (a 2-core CI runner that also builds the book) a cell that printed
progress bars can lose that race and fail with "Timeout of 5 seconds exceeded waiting for
output", although it ran correctly.  Give each cell's output 60 s to arrive instead; the cell's
own execution limit (``--nbval-cell-timeout``) is unchanged.
"""

from __future__ import annotations

import pytest

NBVAL_OUTPUT_TIMEOUT_S = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's NotebookCell
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S
