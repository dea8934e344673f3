"""The usage ledger: one row per OCR attempt, and the reports built from it."""

from pipeline.ledger.hook import LedgerHook
from pipeline.ledger.report import format_report

__all__ = ["LedgerHook", "format_report"]
