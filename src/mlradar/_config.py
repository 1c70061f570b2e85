"""Settings: defaults, then the config file, then ``MLRADAR_*`` environment variables.

The config file is TOML, at ``$MLRADAR_CONFIG`` or ``<user config dir>/mlradar/config.toml``;
its keys are the field names below (``allow_private_networks = true``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "mlradar"

#: arXiv asks for no more than one request every three seconds, on one connection.
ARXIV_MIN_INTERVAL = 3.0


def config_path() -> Path:
    env = os.environ.get("MLRADAR_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'mlradar.sqlite'}"


class Settings(BaseSettings):
    """Every knob mlradar has.  Field names double as config-file keys."""

    model_config = SettingsConfigDict(env_prefix="MLRADAR_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    user: str = "default"

    # Fetching.
    allow_private_networks: bool = False
    contact_email: str | None = None
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_response_bytes: int = 16 * 1024 * 1024
    max_redirects: int = 5
    max_connections: int = 32
    max_connections_per_host: int = 8
    parse_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)

    # Scheduling: how often a healthy source is fetched, and how far errors push it back.
    update_interval_minutes: int = 60
    max_backoff_hours: int = 24

    # arXiv politeness: configurable upward only.
    arxiv_interval_seconds: float = ARXIV_MIN_INTERVAL
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss"

    # Social profiles, conference proceedings: the public endpoints (tests point them at
    # loopback).
    bluesky_url: str = "https://bsky.app"
    openreview_api_url: str = "https://api2.openreview.net"
    openreview_url: str = "https://openreview.net"
    #: Notes per OpenReview API request (its maximum is 1000).
    openreview_page_size: int = Field(default=1000, ge=1, le=1000)
    pmlr_url: str = "https://proceedings.mlr.press"
    # Discussions and videos: the public APIs (tests point them at loopback).
    hackernews_api_url: str = "https://hacker-news.firebaseio.com"
    hackernews_search_url: str = "https://hn.algolia.com"
    reddit_url: str = "https://www.reddit.com"
    youtube_url: str = "https://www.youtube.com"

    # Semantic Scholar (mlradar enrich): without a key, 1 request a second at most; a key's
    # own limit is set with s2_interval_seconds.
    s2_api_url: str = "https://api.semanticscholar.org"
    s2_api_key: str | None = None
    s2_interval_seconds: float = Field(default=1.0, ge=0)
    #: Days a cached Semantic Scholar answer is used before enrich asks again.
    s2_max_age_days: float = Field(default=30.0, ge=0)

    # Semantic features (optional extra).
    embedding_model: str | None = None

    # Recommendation priors (mlradar._rank.signals.SignalConfig has the same defaults and
    # says why): in spreads of the model's scores; 0 turns a prior off.
    rank_discussion_weight: float = Field(default=0.5, ge=0)
    rank_recency_weight: float = Field(default=0.25, ge=0)
    #: Age in days at which half the recency penalty applies; 0 turns recency off.
    rank_recency_half_life_days: float = Field(default=14.0, ge=0)

    # Accounts and the web app.
    #: Whether anyone reaching the web app may create an account.
    allow_signup: bool = False
    #: Signs session cookies; when unset, a random key is made once and kept in the database.
    web_secret_key: str | None = None
    #: Failed logins allowed per account name and per client address within the window.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)

    # Email (digests): an SMTP server.  ``smtp_security``: ``starttls`` (upgrade a plain
    # connection, usually port 587), ``tls`` (TLS from the start, usually 465) or ``none``
    # (a local relay only).  No host: digests are not emailed.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)

    # The web app's public address: links in digests and Atom feeds point there.
    public_url: str = "http://127.0.0.1:8000"
    # The scheduler (``mlradar worker``, ``serve``): how often it looks for due work.
    worker_interval_seconds: float = Field(default=60.0, gt=0)
    #: Whether ``mlradar serve`` runs the due updates and digests itself (``--no-worker``
    #: turns it off for one run); off when a separate ``mlradar worker`` does the work.
    serve_worker: bool = True

    @field_validator("arxiv_interval_seconds")
    @classmethod
    def _polite_arxiv(cls, value: float) -> float:
        # arXiv's terms ask for 3 s between requests; a faster setting would get users banned.
        return max(value, ARXIV_MIN_INTERVAL)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )

    @property
    def user_agent(self) -> str:
        from mlradar._version import __version__

        contact = f"; mailto:{self.contact_email}" if self.contact_email else ""
        return f"mlradar/{__version__} (+https://github.com/mlradar/mlradar{contact})"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
