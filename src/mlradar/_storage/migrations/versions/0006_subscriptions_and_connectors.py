"""One source fetched for every user who follows it; connector state; discussion signals.

* ``subscriptions`` (user, source, the user's name for it) and ``subscription_tags``
  replace ``sources.name`` and ``source_tags``: every user that exists (or ``default``,
  when none does) follows every source they could see before, with its name and tags;
* ``sources.state`` holds the connector's opaque state: the ETag and Last-Modified
  columns move into it; ``sources.last_warning`` records what a fetch worked around;
* ``items.points``, ``comments``, ``comments_url``: the discussion where a source counts it;
* OPML outlines and folders, and the head of the last imported file, belong to a user.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPML_HEAD = "opml.head"


def _users(bind: sa.Connection) -> list[int]:
    users = [int(u) for (u,) in bind.execute(sa.text("SELECT id FROM users ORDER BY id"))]
    if users:
        return users
    now = datetime.now(UTC).replace(tzinfo=None)
    new = bind.execute(
        sa.text("INSERT INTO users (name, created_at) VALUES ('default', :n) RETURNING id"),
        {"n": now},
    ).scalar_one()
    return [int(new)]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "subscriptions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_subscriptions_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "source_id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_source_id", "subscriptions", ["source_id"], unique=False)
    op.create_table(
        "subscription_tags",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id", "source_id"],
            ["subscriptions.user_id", "subscriptions.source_id"],
            name=op.f("fk_subscription_tags_user_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "source_id", "tag", name=op.f("pk_subscription_tags")),
    )

    sources = bind.execute(
        sa.text("SELECT id, name, added_at, etag, last_modified FROM sources ORDER BY id")
    ).all()
    if sources:
        users = _users(bind)
        tags = bind.execute(sa.text("SELECT source_id, tag FROM source_tags")).all()
        for user in users:
            bind.execute(
                sa.text(
                    "INSERT INTO subscriptions (user_id, source_id, name, added_at) "
                    "VALUES (:u, :s, :n, :a)"
                ),
                [{"u": user, "s": r.id, "n": r.name, "a": r.added_at} for r in sources],
            )
            if tags:
                bind.execute(
                    sa.text(
                        "INSERT INTO subscription_tags (user_id, source_id, tag) "
                        "VALUES (:u, :s, :t)"
                    ),
                    [{"u": user, "s": s, "t": t} for s, t in tags],
                )

    op.add_column("sources", sa.Column("state", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("last_warning", sa.Text(), nullable=True))
    for r in sources:
        kept = {k: v for k, v in (("etag", r.etag), ("last_modified", r.last_modified)) if v}
        if kept:
            bind.execute(
                sa.text("UPDATE sources SET state = :s WHERE id = :i"),
                {"s": json.dumps(kept), "i": r.id},
            )
    # Native DROP COLUMN (SQLite 3.35+): rebuilding a table that items reference with
    # ON DELETE CASCADE would empty them.
    for column in ("etag", "last_modified", "name"):
        op.execute(f"ALTER TABLE sources DROP COLUMN {column}")
    op.drop_table("source_tags")

    op.add_column("items", sa.Column("points", sa.Integer(), nullable=True))
    op.add_column("items", sa.Column("comments", sa.Integer(), nullable=True))
    op.add_column("items", sa.Column("comments_url", sa.Text(), nullable=True))

    _opml_per_user(bind)


def _opml_per_user(bind: sa.Connection) -> None:
    outlines = bind.execute(
        sa.text("SELECT source_id, folder, attrs, position FROM source_outlines")
    ).all()
    folders = bind.execute(sa.text("SELECT path, attrs, position FROM opml_folders")).all()
    head = bind.execute(sa.text("SELECT value FROM state WHERE key = :k"), {"k": _OPML_HEAD})
    head_value = head.scalar_one_or_none()
    op.drop_table("source_outlines")
    op.drop_table("opml_folders")
    op.create_table(
        "source_outlines",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_outlines_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_source_outlines_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "source_id", "folder", name=op.f("pk_source_outlines")),
    )
    op.create_table(
        "opml_folders",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_opml_folders_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "path", name=op.f("pk_opml_folders")),
    )
    if not (outlines or folders or head_value):
        return
    users = _users(bind)
    for user in users:
        if outlines:
            bind.execute(
                sa.text(
                    "INSERT INTO source_outlines (user_id, source_id, folder, attrs, position) "
                    "VALUES (:u, :s, :f, :a, :p)"
                ),
                [
                    {"u": user, "s": r.source_id, "f": r.folder, "a": r.attrs, "p": r.position}
                    for r in outlines
                ],
            )
        if folders:
            bind.execute(
                sa.text(
                    "INSERT INTO opml_folders (user_id, path, attrs, position) "
                    "VALUES (:u, :f, :a, :p)"
                ),
                [{"u": user, "f": r.path, "a": r.attrs, "p": r.position} for r in folders],
            )
        if head_value:
            bind.execute(
                sa.text("INSERT INTO user_state (user_id, key, value) VALUES (:u, :k, :v)"),
                {"u": user, "k": _OPML_HEAD, "v": head_value},
            )
    bind.execute(sa.text("DELETE FROM state WHERE key = :k"), {"k": _OPML_HEAD})


def downgrade() -> None:
    raise NotImplementedError(
        "revision 0006 gives each user their own subscriptions; going back would merge them "
        "into one list: restore a backup taken before the upgrade instead"
    )
