"""Paper: case summaries and meeting packets (WeasyPrint). The entry points use documents.py."""

import logging

# WeasyPrint and pikepdf log every step at INFO (some while being imported): keep their warnings only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logging.getLogger("pikepdf._core").setLevel(logging.WARNING)
