"""Route templates: the one name a route has in metrics, logs and traces."""

from __future__ import annotations

import re
from functools import lru_cache

UNMATCHED_ROUTE = "<unmatched>"
# A Quart rule variable, with or without a converter: <int:user_id>, <name>.
_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@lru_cache(maxsize=256)
def route_template(rule: str) -> str:
    """A Quart rule as an OpenAPI-style template: /users/<int:user_id> -> /users/{user_id}.

    The same spelling as the API's OpenAPI paths, so a dashboard, a log search and the
    API reference all name a route alike."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)
