"""Alembic migrations of the state store (`ocrpipe db upgrade`, pipeline/store/migrate.py).

`env.py` runs them on the connection that `migrate.upgrade` hands it, or, run by the
`alembic` command (`alembic -x url=... upgrade head` with `script_location` pointing
here), on an async engine of its own. A new revision: `alembic revision -m WHAT` beside
an alembic.ini whose script_location is this folder; name the file `rNNNN_what.py`, and
set `HEAD` in pipeline/store/revision.py to its revision (`open_store` compares the
database's revision with it; a test checks the two agree).
"""
