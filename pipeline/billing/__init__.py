"""Accounting as the provider bills it (issue 18; protocol.md §4).

    config.py        the billing file ($OCRPIPE_BILLING or billing.toml beside the state db)
    deduction.py     pure: ledger calls -> what paid for each (free quota, package, pay-per-use)
    lifecycle.py     a package's state at a moment; auto-renewal attempt times
    calls.py         the ledger as billing reads it; each run's region (run_regions)
    paid_by.py       the `deductions` table: what paid for each usage row
    alerts.py        alerts once per crossing (billing_alerts), logged, sent to alert_webhook
    after_run.py     the books made again at the end of every run
    guard.py         a job's monthly budget while it runs ([budget] on_exceeded)
    status.py        `ocrpipe billing status`
    usage_report.py  `ocrpipe report --by ...`; chart.py: its --chart
    reconcile.py     `ocrpipe reconcile` against /v1/usage or a CSV export
"""
