"""mlradar: a self-hosted radar for machine-learning research and learning.

Start with :func:`make_radar`::

    from mlradar import make_radar

    radar = make_radar()                 # SQLite in the user's data directory
    radar.add_source("https://lilianweng.github.io/")
    summary = radar.update()
    for hit in radar.search('"diffusion models"'):
        print(hit.title, hit.url)

A process that serves several users (a web server) opens one :class:`RadarCore` and
works through a cheap view per user and request::

    from mlradar import RadarCore

    core = RadarCore.open("postgresql://radar@db/radar")
    alice = core.for_user("alice")       # no I/O; an unknown user fails on first use
    alice.recommend(tag="diffusion")
"""

from typing import TYPE_CHECKING, Any

from mlradar._version import __version__

if TYPE_CHECKING:
    from mlradar._radar import Radar, RadarCore, make_radar

__all__ = ["Radar", "RadarCore", "__version__", "make_radar"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import mlradar` (and `mlradar --help`) does not load every dependency.
    if name in ("Radar", "RadarCore", "make_radar"):
        from mlradar import _radar

        return getattr(_radar, name)
    raise AttributeError(f"module 'mlradar' has no attribute {name!r}")
