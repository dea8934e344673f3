"""What the revisions share: creating the tables a revision writes out only where they
are absent, and dropping them on the way down.

Every revision is idempotent (a table that exists is left as it is), so a database made
before Alembic, or by a release whose `open_store` created tables itself, is upgraded in
place and then only stamped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_missing(tables: sa.MetaData) -> None:
    """Create each of `tables` that the database lacks, in dependency order."""
    bind = op.get_bind()
    present = sa.inspect(bind)
    for table in tables.sorted_tables:
        if not present.has_table(table.name):
            table.create(bind)


def drop_all(tables: sa.MetaData) -> None:
    """Drop `tables` where they exist, dependants first."""
    bind = op.get_bind()
    for table in reversed(tables.sorted_tables):
        table.drop(bind, checkfirst=True)
