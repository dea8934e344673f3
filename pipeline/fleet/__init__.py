"""Several `ocrpipe up` / `ocrpipe worker` processes on one state database: the worker
registry (`registry.py`), each process's heartbeat (`heartbeat.py`) and the division of a
job's qps and concurrency among the processes working on it (`share.py`).

This package sits low: it imports the state store and the OCR client's share seam
(pipeline/ocr/shares.py), nothing that runs jobs, so that the API (`GET /v1/workers`)
can read the registry without an import cycle. What starts a worker process and joins
it to the fleet is above it: pipeline/worker_process.py."""
