"""Commands exit with a code and one line on stderr, never a traceback."""

import pytest
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from servicekit.commands import CommandError, load_settings, run_command
from servicekit.settings import ServingSettings


class ShopSettings(ServingSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")
    port: int = Field(9000, ge=0, le=65535)


def exit_code_of(handler):
    with pytest.raises(SystemExit) as raised:
        run_command("shop", "serve", handler)
    return raised.value.code


def test_the_handlers_code_is_the_exit_code():
    assert exit_code_of(lambda: 3) == 3
    assert exit_code_of(lambda: None) == 0


def test_a_command_error_is_one_line_and_its_code(capsys):
    def fail():
        raise CommandError("the database is down", exit_code=4)

    assert exit_code_of(fail) == 4
    assert capsys.readouterr().err == "shop serve: the database is down\n"


def test_ctrl_c_exits_130():
    def interrupted():
        raise KeyboardInterrupt

    assert exit_code_of(interrupted) == 130


def test_invalid_settings_name_the_variable_and_exit_2(monkeypatch):
    monkeypatch.setenv("SHOP_PORT", "70000")
    with pytest.raises(CommandError) as raised:
        load_settings(ShopSettings)
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith("invalid configuration: SHOP_PORT: Input should be")
