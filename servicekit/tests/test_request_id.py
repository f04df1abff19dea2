"""Request ids: a caller's sane id is kept, anything else is replaced; the current id per task."""

import pytest

from servicekit import request_id


@pytest.mark.parametrize("sent", ["abc-123", "a.b:c_d", "x" * 128])
def test_a_sane_id_is_kept(sent):
    assert request_id.request_id_from(sent) == sent


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "new\nline", "ünïcode"])
def test_anything_else_gets_a_new_id(sent):
    new = request_id.request_id_from(sent)
    assert new != sent
    assert len(new) == 32
    assert new.isalnum()


def test_each_new_id_differs():
    assert len({request_id.new_request_id() for _ in range(100)}) == 100


def test_the_current_id_is_set_and_reset():
    assert request_id.current_request_id() == ""
    token = request_id.set_current_request_id("req-1")
    assert request_id.current_request_id() == "req-1"
    request_id.reset_current_request_id(token)
    assert request_id.current_request_id() == ""
