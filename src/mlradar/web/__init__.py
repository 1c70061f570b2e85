"""The web app and REST API: :func:`create_app` over one :class:`~mlradar.RadarCore`.

Server-rendered pages (Jinja2) with a little vanilla JavaScript, and a JSON API under
``/api/v1``; both are thin adapters over the facade and share the functions that build
their data (:mod:`mlradar.web.views`).  ``mlradar serve`` runs it with uvicorn.
"""

from __future__ import annotations

from mlradar.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
