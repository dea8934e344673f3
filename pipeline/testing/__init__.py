"""The testing kit: fakes that ocrpipe's own tests and its users' tests share (STYLE.md
point 16), reached through public seams.

- `FakeOcrServer`, `Reply` (server.py): a Huawei-protocol OCR server on loopback with
  scripted faults (429, 5xx, hangs, dropped and cut connections) and signature checks;
  by default it echoes text derived from each page sent (structured APIs: the SDK's own
  answer shape, its strings prefixed with that text; `structured_answer`).
- `FakeRecognizer` (recognizer.py): the `Recognizer` seam without HTTP; `job_context`
  (job.py): a `JobContext` on local storages, SQLite and a thread pool, for direct tests
  of `process_document` and the ledger hook.
- `make_page`, `read_tag`, `page_text` (pipeline.pagetag): pages that carry a
  machine-readable tag, and what every fake answers for them; `tagged_pdf`,
  `tagged_images` (documents.py) write them as inputs.
- The service's model-free engine is `pipeline.service.scripted` ("scripted" in
  `ENGINES`): `ocrpipe serve --engine scripted`, or `in_thread_engine()` in a test.
- `pipeline.testing.cer`: character error rate against ground truth (needs rapidfuzz,
  from the `dev` extra); not imported here.

Every output can be checked against its own input:

    tagged_pdf(src / "book.pdf", ["book-p1", "book-p2"])
    ... run the job against FakeOcrServer ...
    assert [p["blocks"][0]["text"] for p in pages] == ["page book-p1", "page book-p2"]
"""

from __future__ import annotations

from pipeline.pagetag import make_page, page_text, page_text_of_bytes, read_tag

from .documents import tagged_images, tagged_pdf
from .job import FakeJobContext, job_context
from .recognizer import FakeRecognizer
from .server import Call, FakeOcrServer, Reply, free_port
from .structured import sample_apis, structured_answer

__all__ = [
    "Call",
    "FakeJobContext",
    "FakeOcrServer",
    "FakeRecognizer",
    "Reply",
    "free_port",
    "job_context",
    "make_page",
    "page_text",
    "page_text_of_bytes",
    "read_tag",
    "sample_apis",
    "structured_answer",
    "tagged_images",
    "tagged_pdf",
]
