"""Reports: ``report.json`` for machines (contracts.md section 4), HTML/PNG for people."""

from .summary import build_report, format_summary, write_report

__all__ = ["build_report", "format_summary", "write_report"]
