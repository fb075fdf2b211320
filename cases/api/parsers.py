"""DRF's JSON parser, refusing (400) the JSON it would crash on or that no database could store."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _strings(data):
    """Every key and string value of a parsed document, without recursion (the nesting may be deep)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (key for key in item if isinstance(key, str))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


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
        if not all(_is_unicode(text) for text in _strings(data)):
            raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate, which is not text.")
        return data
