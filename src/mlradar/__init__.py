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
