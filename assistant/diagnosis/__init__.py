"""The differential diagnosis: reproduce the failure, change one thing at a time, decide."""

from assistant.diagnosis.model import CATEGORIES, Evidence, Setup, Verdict

__all__ = ["CATEGORIES", "Evidence", "Setup", "Verdict"]
