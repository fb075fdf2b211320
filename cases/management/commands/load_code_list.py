"""Load a site's licensed code list (ICD-O-3 topography or morphology, WHO ICD-10) from a file.

The file is the export the site holds under its own licence: one code per line, the code, a tab
(or a comma, or a semicolon), then its display text; lines starting with # are skipped. Every code's
format is checked before anything is replaced: a bad file changes nothing.
"""

import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ... import codes
from ...services.coding import code_list_load


def read_rows(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    dialect = csv.Sniffer().sniff(lines[0], delimiters="\t,;") if lines else csv.excel_tab
    rows = []
    for number, fields in enumerate(csv.reader(lines, dialect), 1):
        if len(fields) < 2 or not fields[1].strip():
            raise CommandError(f"line {number}: expected a code and its display, got {fields!r}")
        rows.append((fields[0].strip(), fields[1].strip()))
    return rows


class Command(BaseCommand):
    help = "Load (replace) the site's copy of a licensed code list, e.g. ICD-O-3 morphology."

    def add_arguments(self, parser):
        parser.add_argument("list_name", choices=sorted(codes.SITE_LISTS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, list_name, file, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            count = code_list_load(list_name=list_name, rows=read_rows(file))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{list_name}: {count} codes loaded; codes outside them are now refused.")
