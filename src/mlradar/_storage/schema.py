"""The one schema, as SQLAlchemy Core tables.

Alembic migrations under ``migrations/`` create and change it; a test checks that a
migrated database matches these tables, so the two cannot drift apart.  Full-text
search lives in dialect-specific structures (FTS5 tables in SQLite, tsvector columns in
PostgreSQL) described in :mod:`._dialects`, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming_convention)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC.

    SQLite has no time zones, and comparing mixed naive/aware values is a bug magnet.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware values")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _fk(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# A source is fetched once, however many users follow it: what is per user (the name they
# gave it, its tags) lives in subscriptions.
sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    # Another spelling of url (for feeds: the canonical URL), to spot the same source.
    Column("canonical_url", Text, index=True),
    Column("kind", String(20), nullable=False),
    Column("title", Text),
    Column("home_url", Text),
    Column("added_at", UTCDateTime, nullable=False),
    # The connector's settings for the source (an arXiv query, a subreddit's sort): JSON.
    Column("config", Text),
    # The connector's own state (validators, cursors, since-ids): JSON, opaque here.
    Column("state", Text),
    Column("last_fetched_at", UTCDateTime),
    Column("last_status", Integer),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("last_error", Text),
    # A problem the last fetch worked around (entries dropped by a cap, a wrong charset).
    Column("last_warning", Text),
    Column("next_due_at", UTCDateTime),
    Column("last_new_at", UTCDateTime),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("source_id", Integer, _fk("sources.id"), primary_key=True),
    # The name the user gave the source (None: its own title).
    Column("name", Text),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_subscriptions_source_id", "source_id"),
)

subscription_tags = Table(
    "subscription_tags",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("source_id", Integer, primary_key=True),
    Column("tag", String(200), primary_key=True),
    ForeignKeyConstraint(
        ["user_id", "source_id"],
        ["subscriptions.user_id", "subscriptions.source_id"],
        ondelete="CASCADE",
    ),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, _fk("sources.id"), nullable=False),
    # Stable identity within the source: "id:<guid>", "url:<canonical link>" or "hash:<sha>".
    Column("key", Text, nullable=False),
    Column("url", Text),
    Column("link", Text),
    Column("title", Text),
    Column("author", Text),
    Column("summary_html", Text),
    Column("content_html", Text),
    # Plain text of the content, for full-text search and ranking.
    Column("text", Text),
    Column("categories", Text),
    Column("published_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    # Discussion where the source counts it (HN points, Reddit score), else NULL.
    Column("points", Integer),
    Column("comments", Integer),
    Column("comments_url", Text),
    UniqueConstraint("source_id", "key"),
    Index("ix_items_url", "url"),
    Index("ix_items_published_at", "published_at"),
    Index("ix_items_first_seen_at", "first_seen_at"),
    # Each source's first fetch time, for where undated items sort (ItemsStorage.list_items).
    Index("ix_items_source_first_seen", "source_id", "first_seen_at"),
    # The ranking index finds changed items by it (written when content changes).
    Index("ix_items_last_seen_at", "last_seen_at"),
)

# What an item names: arXiv ids and DOIs.  This is how the same paper joins across sources.
item_refs = Table(
    "item_refs",
    metadata,
    Column("item_id", Integer, _fk("items.id"), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("ref", Text, primary_key=True),
    Index("ix_item_refs_kind_ref", "kind", "ref"),
)

# A paper: on arXiv (arxiv_id set) or known elsewhere only.  Every identifier it is known
# by is in paper_ids; arxiv_id and doi are the record's own fields, kept here too because
# search, ranking and display read them with every row.
papers = Table(
    "papers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("arxiv_id", String(40), unique=True),
    Column("title", Text, nullable=False),
    # JSON list of author names, in order.
    Column("authors", Text, nullable=False),
    # Space-separated, primary category first.
    Column("categories", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("comments", Text),
    Column("journal_ref", Text),
    Column("doi", Text),
    Column("report_no", Text),
    Column("license", Text),
    Column("submitter", Text),
    # JSON list of [version number, ISO datetime or null].
    Column("versions", Text, nullable=False),
    Column("first_version_at", Date),
    Column("updated_at", Date),
    Column("content_hash", String(64), nullable=False),
    Column("stored_at", UTCDateTime, nullable=False),
    Column("venue", Text),
    Column("url", Text),
    Column("pdf", Text),
    # JSON list of [scheme, value]: identifiers besides arXiv's and the DOI.
    Column("ids", Text),
    # Known by an identifier only (tagged before its record arrived): no record yet.
    Column("stub", Boolean, nullable=False, default=False),
    # Folded title and first author's surname ("attention is all you need|vaswani"): how a
    # conference paper without an arXiv id finds its arXiv record (mlradar._papers).
    Column("title_key", Text),
    Index("ix_papers_first_version_at", "first_version_at"),
    Index("ix_papers_doi", "doi"),
    # The ranking index finds edited papers by it (written on insert and on every change).
    Index("ix_papers_stored_at", "stored_at"),
    Index("ix_papers_title_key", "title_key"),
    # Counting papers with records is counting all minus the (few) stubs: with this
    # partial index neither count reads the papers' rows.  On PostgreSQL migration 0013
    # makes it partial too (WHERE stub); a postgresql_where here would import the
    # PostgreSQL dialect into every command that opens a SQLite database.
    Index("ix_papers_stub", "id", sqlite_where=text("stub = 1")),
)

# Every identifier of every paper, normalized (see mlradar._papers): the lookup by which a
# record from any source finds the paper it is.
paper_ids = Table(
    "paper_ids",
    metadata,
    Column("scheme", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("paper_id", Integer, _fk("papers.id"), nullable=False),
    Index("ix_paper_ids_paper_id", "paper_id"),
)

user_tags = Table(
    "user_tags",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("tag", String(200), primary_key=True),
    # "paper" (ref is papers.id as text) or "item" (ref is items.id as text).
    Column("kind", String(10), primary_key=True),
    Column("ref", String(200), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

user_reactions = Table(
    "user_reactions",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("ref", String(200), primary_key=True),
    # "like" or "dismiss": one reaction per thing, the last one wins.
    Column("reaction", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

user_reads = Table(
    "user_reads",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("ref", String(200), primary_key=True),
    Column("read_at", UTCDateTime, nullable=False),
)

user_state = Table(
    "user_state",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

# Global resumable state: OAI-PMH resumption tokens, import checkpoints.
state = Table(
    "state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

catalog_entries = Table(
    "catalog_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("feed_url", Text),
    # JSON list of topic names.
    Column("topics", Text, nullable=False),
    Column("level", String(20)),
    Column("description", Text),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Why the built-in catalog knows the resource is gone (None while it is not).
    Column("retired", Text),
    # Curated order (built-in entries); learning paths keep it within a stage.
    Column("position", Integer),
)

# Every address an entry is known under, folded by the catalog's match key (scheme, "www."
# and trailing slash aside): its URL, old homes that lists still name, a new home found by a
# link check.  An import looks entries up here.
catalog_keys = Table(
    "catalog_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("entry_id", Integer, _fk("catalog_entries.id"), nullable=False),
    Column("url", Text, nullable=False),
    Index("ix_catalog_keys_entry_id", "entry_id"),
)

catalog_origins = Table(
    "catalog_origins",
    metadata,
    Column("entry_id", Integer, _fk("catalog_entries.id"), primary_key=True),
    Column("origin", Text, primary_key=True),
    Column("heading_path", Text),
)

link_checks = Table(
    "link_checks",
    metadata,
    Column("entry_id", Integer, _fk("catalog_entries.id"), primary_key=True),
    Column("checked_at", UTCDateTime, nullable=False),
    # "ok", "moved", "gone" or "unreachable".
    Column("status", String(20), nullable=False),
    Column("http_status", Integer),
    Column("new_url", Text),
    Column("error", Text),
)

path_progress = Table(
    "path_progress",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("entry_id", Integer, _fk("catalog_entries.id"), primary_key=True),
    Column("done_at", UTCDateTime, nullable=False),
)

# What a user's OPML import said about a feed in one folder ("" for the top level): its outline's
# attributes (JSON list of [name, value], in order) and its position in the document, so
# that export writes the file back as it was.
source_outlines = Table(
    "source_outlines",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("source_id", Integer, _fk("sources.id"), primary_key=True),
    Column("folder", Text, primary_key=True),
    Column("attrs", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

# The same for OPML folders, keyed by their path (the tag their feeds carry).
opml_folders = Table(
    "opml_folders",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("attrs", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

# A story: one paper or link, and every item that mentions it (see mlradar._stories).  Its
# head (best title, URL, span) is kept as items join; its discussion is summed when read,
# since points and comments move on every refresh.
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text),
    # Where the title came from: lower is better (a paper's listing, a post, a thread).
    Column("title_rank", Integer, nullable=False, default=9),
    Column("url", Text),
    # The one arXiv paper it is about, if any (versionless).
    Column("arxiv_id", String(40)),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_stories_arxiv_id", "arxiv_id"),
    Index("ix_stories_last_seen_at", "last_seen_at"),
)

# Which story each item is in (one each).
story_items = Table(
    "story_items",
    metadata,
    Column("item_id", Integer, _fk("items.id"), primary_key=True),
    Column("story_id", Integer, _fk("stories.id"), nullable=False),
    Index("ix_story_items_story_id", "story_id"),
)

# The lookup keys a story is found by when an item arrives: "arxiv:<id>", "doi:...",
# "url:<canonical link>", "title:<folded title>", "near:<band>:<hash>".
story_keys = Table(
    "story_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("story_id", Integer, _fk("stories.id"), nullable=False),
    Index("ix_story_keys_story_id", "story_id"),
)

# Responses of enrichment APIs (Semantic Scholar), with the date they were fetched:
# ``kind`` is the endpoint ("paper", "references", "citations", "recommendations").
enrich_cache = Table(
    "enrich_cache",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("ref", Text, primary_key=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text),
)

# -- accounts (the web app): passwords, API tokens, login attempts ---------------------------

# A user's argon2 password hash; a user without a row cannot log in with a password.
user_passwords = Table(
    "user_passwords",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# API tokens: only their SHA-256 is stored (the token itself is shown once, at creation).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, _fk("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Index("ix_api_tokens_user_id", "user_id"),
)

# Every login attempt, by the account name typed and the client address, so that limits
# hold per account and per address across processes.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("address", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_login_attempts_account_at", "account", "at"),
    Index("ix_login_attempts_address_at", "address", "at"),
)

# A user's digests: one per period ("since/until" days), so a period is never sent twice.
# ``body`` is the composed digest (JSON); ``status`` is stored, sending, sent or failed.
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, _fk("users.id"), nullable=False),
    Column("period", String(40), nullable=False),
    Column("since_day", Date, nullable=False),
    Column("until_day", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("recipient", Text),
    Column("error", Text),
    UniqueConstraint("user_id", "period"),
)

# When a user's digest is emailed, and where to.
digest_schedules = Table(
    "digest_schedules",
    metadata,
    Column("user_id", Integer, _fk("users.id"), primary_key=True),
    Column("cadence", String(10), nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("email", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Private Atom feed addresses: the token's SHA-256 only (the token is shown once).
feed_tokens = Table(
    "feed_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, _fk("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("view_kind", String(20)),
    Column("view_arg", Text),
    Column("label", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index("ix_feed_tokens_user_id", "user_id"),
)

# The updater's runs (the newest few hundred): the sources page shows the last one.
update_runs = Table(
    "update_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("sources", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("error", Text),
)
