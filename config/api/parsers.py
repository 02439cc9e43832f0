"""Request parsing: DRF's JSON parser, made safe against pathological nesting."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """JSON nested deeper than Python's recursion limit raises RecursionError, which DRF does
    not turn into a 400: it would be a 500 for a client's mistake."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
