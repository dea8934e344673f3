"""The dashboard of `ocrpipe up` (`GET /`): a page over the job API, with `/v1/usage` and
`/v1/billing` for its usage chart, packages and alerts (see `routes`)."""

from pipeline.dashboard.routes import add_dashboard_routes

__all__ = ["add_dashboard_routes"]
