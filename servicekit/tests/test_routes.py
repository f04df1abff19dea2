import pytest
from servicekit.routes import route_template


@pytest.mark.parametrize(
    ("rule", "template"),
    [
        ("/api/v1/users/<int:user_id>", "/api/v1/users/{user_id}"),
        ("/users/<int:user_id>/edit", "/users/{user_id}/edit"),
        ("/files/<path:name>/<version>", "/files/{name}/{version}"),
        ("/users", "/users"),
    ],
)
def test_rules_become_openapi_templates(rule, template):
    assert route_template(rule) == template
