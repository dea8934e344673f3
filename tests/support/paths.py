"""Where test inputs live: the repository's own copies first, the shared corpus last."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = REPO_ROOT / "jobs" / "samples"
"""The sample job's documents (permissive licences; jobs/samples/README.md)."""
DATA_DIR = REPO_ROOT / "tests" / "data"
"""Other small shippable files the tests need (tests/data/README.md)."""
CORPUS_DIR = Path(os.environ.get("OCRPIPE_TEST_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")
"""The team's evaluation corpus beside the repository, absent in a plain clone;
$OCRPIPE_TEST_CORPUS points elsewhere (a missing folder: run as a plain clone would)."""
