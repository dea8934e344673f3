"""`ocrpipe bench`: how fast can this OCR endpoint go, with these pages?

    samples.py   the user's sample folder -> the OCR requests a job would send
    targets.py   embedded / fake / a URL -> endpoint, key pair, whether it may bill
    sweep.py     the ladder of (concurrency, QPS) steps, each measured through the
                 job's own client and limiter; stops at the first sustained 429s
    report.py    the terminal table, the CSV, the JSON and the PNG plot
    command.py   the click command (registered in `pipeline.cli`)

Every call goes through `pipeline.ocr.OcrClient` behind `pipeline.ocr.LimitedClient`
(fixed rate, one attempt per call: a 429 is counted, not retried away), so a step's
figures are what a job with that `concurrency` and `qps` would get.
"""
