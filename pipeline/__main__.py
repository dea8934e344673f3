"""`python -m pipeline` is the `ocrpipe` command."""

from pipeline.cli import main

main()
