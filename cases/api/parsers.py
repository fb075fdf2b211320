"""DRF's JSON parser, refusing (400) the JSON it would crash on or that no database could store."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from ..refusals import json_strings


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        # A "\ud800" escape is valid JSON but no text: PostgreSQL cannot store it.
        if not all(_is_unicode(text) for text in json_strings(data)):
            raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate, which is not text.")
        return data
