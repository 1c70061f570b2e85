"""mlradar: a self-hosted radar for machine-learning research and learning.

Start with :func:`make_radar`::

    from mlradar import make_radar

    radar = make_radar()                 # SQLite in the user's data directory
    radar.add_source("https://lilianweng.github.io/")
    summary = radar.update()
    for hit in radar.search('"diffusion models"'):
        print(hit.title, hit.url)
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlradar._radar import Radar, make_radar

__all__ = ["Radar", "__version__", "make_radar"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import mlradar` (and `mlradar --help`) does not load every dependency.
    if name in ("Radar", "make_radar"):
        from mlradar import _radar

        return getattr(_radar, name)
    raise AttributeError(f"module 'mlradar' has no attribute {name!r}")
