"""The API's JSON parser: DRF's, with JSON nested past Python's recursion limit answered as a
parse error (400) rather than the RecursionError (500) that json.loads raises on it."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
