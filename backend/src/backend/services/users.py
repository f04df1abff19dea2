"""What the users routes do, shared by /api/v1 and the legacy aliases: each rule once.

Each operation takes plain data (query arguments, a parsed JSON body, an id), validates it
against the models and answers a user as a dict, or raises an ApiProblem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pymysql.err import IntegrityError

from backend import queries
from backend.lib.db import get_database
from backend.lib.problems import UserChanged, UsernameTaken, UserNotFound, ValidationFailed
from backend.models.users import (
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    UserCreate,
    UserListQuery,
    UserReplace,
    UserUpdate,
    field_errors,
)

ER_DUP_ENTRY = 1062
MAX_USER_ID = 2**64 - 1  # BIGINT UNSIGNED
_USERNAME = re.compile(USERNAME_PATTERN)

ModelT = TypeVar("ModelT", bound=BaseModel)


def _parse(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error)) from None


def _check_id(user_id: int) -> None:
    # The route accepts any digits; ids past the column's range cannot exist.
    if user_id > MAX_USER_ID:
        raise UserNotFound(user_id)


@contextmanager
def _unique_username() -> Iterator[None]:
    # The unique key decides between concurrent requests for the same name.
    try:
        yield
    except IntegrityError as error:
        if error.args and error.args[0] == ER_DUP_ENTRY:
            raise UsernameTaken from None
        raise


def _found(user_id: int, user: dict[str, Any] | None) -> dict[str, Any]:
    if user is None:
        raise UserNotFound(user_id)
    return user


async def list_users(args: Mapping[str, str]) -> tuple[list[dict[str, Any]], int, UserListQuery]:
    """A page of users, how many match in total, and the query as understood."""
    query = _parse(UserListQuery, args)
    username = query.username or None
    if username is not None and not (
        USERNAME_MIN <= len(username) <= USERNAME_MAX and _USERNAME.match(username)
    ):
        # No user can have such a name; also keeps the collation's PAD SPACE and ignorable
        # characters from matching something that is not exactly the name asked for.
        return [], 0, query
    async with get_database().connection() as conn:
        items, total = await queries.list_users(
            conn,
            username=username,
            search=query.q or None,
            limit=query.limit,
            offset=query.offset,
        )
    return items, total, query


async def get_user(user_id: int) -> dict[str, Any]:
    _check_id(user_id)
    async with get_database().connection() as conn:
        user = await queries.select_user(conn, user_id)
    return _found(user_id, user)


async def create_user(body: Any) -> dict[str, Any]:
    data = _parse(UserCreate, body)
    async with get_database().connection() as conn:
        with _unique_username():
            user_id = await queries.insert_user(conn, data.model_dump())
        user = await queries.select_user(conn, user_id)
    return _found(user_id, user)  # None: deleted by someone else in between


# A complete body (create, replace) stores every field, defaults included (model_dump); a
# partial one (update) only the fields sent (changes). `versions` come from If-Match
# (backend.lib.conditional): None writes unconditionally, as clients without it expect.
async def replace_user(
    user_id: int, body: Any, versions: list[datetime] | None = None
) -> dict[str, Any]:
    return await _change_user(user_id, _parse(UserReplace, body).model_dump(), versions)


async def update_user(
    user_id: int, body: Any, versions: list[datetime] | None = None
) -> dict[str, Any]:
    return await _change_user(user_id, _parse(UserUpdate, body).changes(), versions)


async def _change_user(
    user_id: int, changes: dict[str, Any], versions: list[datetime] | None
) -> dict[str, Any]:
    _check_id(user_id)
    async with get_database().connection() as conn:
        with _unique_username():
            found = await queries.update_user(conn, user_id, changes, versions)
        user = await queries.select_user(conn, user_id)
    if user is not None and not found:
        raise UserChanged(user_id)
    return _found(user_id, user)


async def delete_user(user_id: int, versions: list[datetime] | None = None) -> None:
    _check_id(user_id)
    async with get_database().connection() as conn:
        deleted = await queries.delete_user(conn, user_id, versions)
        # Only to tell "changed since" from "no such user": the decision was the DELETE's.
        exists = not deleted and await queries.select_user(conn, user_id) is not None
    if exists:
        raise UserChanged(user_id)
    if not deleted:
        raise UserNotFound(user_id)
