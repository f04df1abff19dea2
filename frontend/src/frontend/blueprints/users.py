"""Pages to list, search, create, view, edit and delete users.

Every change goes through the backend's API; when a form is refused or the backend is
unavailable, the form is shown again with what the person typed and the reason.
"""

from __future__ import annotations

from quart import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from frontend.lib.backend_client import (
    USER_FIELDS,
    BackendUnavailable,
    InvalidInput,
    User,
    UserChanged,
    backend,
)

bp = Blueprint("users", __name__, url_prefix="/users")

PAGE_SIZE = 20
MAX_PAGE = 100_000
SEARCH_MAX_LENGTH = 100
UNAVAILABLE_MESSAGE = (
    "The service is temporarily unavailable, so nothing was saved. "
    "Your input is still here: please try again in a moment."
)
CHANGED_MESSAGE = (
    "Someone else changed this user after you opened this page, so nothing was saved. "
    "Their current values are shown beside yours: check them, then save again to keep "
    "yours."
)
CHANGED_BEFORE_DELETE = (
    "Someone else changed this user after you opened this page, so it was not deleted. "
    "These are its current values: delete it again if you still mean to."
)

PageResult = tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.get("")
async def list_users() -> PageResult:
    q = request.args.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    try:
        result = await backend().list_users(q=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except InvalidInput as error:
        page_html = await render_template(
            "users/list.html", q=q, page=1, result=None, error=error.message
        )
        return page_html, 400
    last_page = max((result.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return await render_template(
        "users/list.html", q=q, page=page, last_page=last_page, result=result, error=None
    ), 200


@bp.get("/new")
async def new_user() -> PageResult:
    return await _render_form("create", values=dict.fromkeys(USER_FIELDS, "")), 200


@bp.post("/new")
async def create_user() -> PageResult | Response:
    values = await _submitted_values()
    try:
        user = await backend().create_user(values)
    except InvalidInput as error:
        page = await _render_form(
            "create", values=values, errors=error.field_errors, form_error=error.message
        )
        return page, error.status
    except BackendUnavailable as error:
        return await _render_unavailable_form("create", values=values, error=error)
    await flash(f"User “{user.username}” was created.", "success")
    return redirect(url_for("users.show_user", user_id=user.id), 303)


@bp.get("/<int:user_id>")
async def show_user(user_id: int) -> PageResult:
    user = await backend().get_user(user_id)
    return await render_template("users/detail.html", user=user), 200


@bp.get("/<int:user_id>/edit")
async def edit_user(user_id: int) -> PageResult:
    user = await backend().get_user(user_id)
    values = {name: getattr(user, name) for name in USER_FIELDS}
    return await _render_form(
        "edit", values=values, user_id=user_id, user=user, version=user.version
    ), 200


@bp.post("/<int:user_id>/edit")
async def update_user(user_id: int) -> PageResult | Response:
    values = await _submitted_values()
    # The version the form was rendered with: the backend refuses the change (412) if the
    # user changed since, instead of overwriting someone else's change unseen.
    version = (await request.form).get("version") or None
    try:
        user = await backend().update_user(user_id, values, version)
    except UserChanged:
        current = await backend().get_user(user_id)
        page = await _render_form(
            "edit",
            values=values,
            user_id=user_id,
            user=current,
            version=current.version,
            current=current,
            form_error=CHANGED_MESSAGE,
        )
        return page, 409
    except InvalidInput as error:
        page = await _render_form(
            "edit",
            values=values,
            user_id=user_id,
            version=version,
            errors=error.field_errors,
            form_error=error.message,
        )
        return page, error.status
    except BackendUnavailable as error:
        return await _render_unavailable_form(
            "edit", values=values, user_id=user_id, version=version, error=error
        )
    await flash(f"User “{user.username}” was updated.", "success")
    return redirect(url_for("users.show_user", user_id=user.id), 303)


@bp.get("/<int:user_id>/delete")
async def confirm_delete(user_id: int) -> PageResult:
    user = await backend().get_user(user_id)
    return await render_template("users/delete.html", user=user, user_id=user_id), 200


@bp.post("/<int:user_id>/delete")
async def delete_user(user_id: int) -> PageResult | Response:
    version = (await request.form).get("version") or None
    try:
        await backend().delete_user(user_id, version)
    except UserChanged:
        current = await backend().get_user(user_id)
        page = await render_template(
            "users/delete.html", user=current, user_id=user_id, form_error=CHANGED_BEFORE_DELETE
        )
        return page, 409
    except BackendUnavailable as error:
        page = await render_template(
            "users/delete.html", user=None, user_id=user_id, form_error=UNAVAILABLE_MESSAGE
        )
        return page, 503, error.retry_after_header
    await flash(f"User #{user_id} was deleted.", "success")
    return redirect(url_for("users.list_users"), 303)


async def _submitted_values() -> dict[str, str]:
    form = await request.form
    return {name: form.get(name, "") for name in USER_FIELDS}


async def _render_form(
    mode: str,
    *,
    values: dict[str, str],
    user_id: int | None = None,
    user: User | None = None,
    version: str | None = None,
    current: User | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
) -> str:
    return await render_template(
        "users/form.html",
        mode=mode,
        values=values,
        user_id=user_id,
        user=user,
        version=version,
        current=current,
        errors=errors or {},
        form_error=form_error,
    )


async def _render_unavailable_form(
    mode: str,
    *,
    values: dict[str, str],
    error: BackendUnavailable,
    user_id: int | None = None,
    version: str | None = None,
) -> tuple[str, int, dict[str, str]]:
    page = await _render_form(
        mode, values=values, user_id=user_id, version=version, form_error=UNAVAILABLE_MESSAGE
    )
    return page, 503, error.retry_after_header
