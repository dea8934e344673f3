"""Scheduled runs: cron lines in job files and the API, fired by `ocrpipe up`."""
