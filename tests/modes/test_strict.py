"""strict mode: the key function and the MODES.md scenario table, row by row."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from modes.models import InstanceConfig
from modes.policies.base import ModeConfig
from modes.policies.strict import StrictPolicy
from modes.selectors import active_policy, instance_config
from tests.conftest import Api
from viewer.identifiers import ConsumptionKey, ViewTarget

KEYS = [
    # (content, collection, context) -> (collection, context, content)
    (("SDA", None, None), ("SDA", "SDA", "SDA")),
    (("SDA", "class-1-maths", None), ("class-1-maths", "class-1-maths", "SDA")),
    (("SDA", "class-1-maths", "batch-1"), ("class-1-maths", "batch-1", "SDA")),
]


@pytest.mark.parametrize(("given", "expected"), KEYS)
def test_strict_key(given: tuple, expected: tuple) -> None:
    key = StrictPolicy(ModeConfig(mode="strict")).key(ViewTarget("rahul", *given))
    assert key == ConsumptionKey("rahul", *expected)


def _complete(
    api: Api, content: str, collection: str | None = None, context: str | None = None
) -> None:
    request = {"userId": "rahul", "contentId": content}
    if collection:
        request["collectionId"] = collection
    if context:
        request["contextId"] = context
    api.ok("POST", "/v1/view/start", request)
    api.ok("POST", "/v1/view/end", request)


# (opens: content, collection, context) -> expected status; MODES.md "strict".
STRICT_TABLE = [
    ("SDA via class-1-maths/batch-1", ("SDA", "class-1-maths", "batch-1"), 2),
    ("SDA organic", ("SDA", None, None), 0),
    ("SDA via class-1-maths/batch-2", ("SDA", "class-1-maths", "batch-2"), 0),
    ("DDA via class-1-maths/batch-1", ("DDA", "class-1-maths", "batch-1"), 0),
    ("DDA organic", ("DDA", None, None), 2),
]


@pytest.mark.parametrize(
    ("opens", "expected"), [r[1:] for r in STRICT_TABLE], ids=[r[0] for r in STRICT_TABLE]
)
def test_strict_scenario(api: Api, maths_catalogue: None, opens: tuple, expected: int) -> None:
    _complete(api, "SDA", "class-1-maths", "batch-1")
    _complete(api, "DDA")
    content, collection, context = opens
    request = {"userId": "rahul", "contentId": content}
    if collection:
        request["collectionId"] = collection
    if context:
        request["contextId"] = context
    [row] = api.ok("POST", "/v1/view/read", request)["contents"]
    assert row["status"] == expected


def test_instance_config_is_created_from_the_environment_on_first_use() -> None:
    with override_settings(
        VIEWER_MODE="strict",
        VIEWER_COPY_SCOPE="collection",
        VIEWER_CARRY_RULES={"match": "any", "rules": [{"type": "always"}]},
    ):
        config = instance_config()
    assert (config.mode, config.copy_scope) == ("strict", "collection")
    assert config.rules == {"match": "any", "rules": [{"type": "always"}]}
    assert isinstance(active_policy(), StrictPolicy)
    # Later changes of the environment do not touch an existing instance.
    with override_settings(VIEWER_COPY_SCOPE="content"):
        assert instance_config().copy_scope == "collection"


def test_instance_config_refuses_an_unknown_mode() -> None:
    config = InstanceConfig(mode="nonsense")
    with pytest.raises(Exception, match="Unknown mode 'nonsense'"):
        config.full_clean()


def test_system_check_refuses_an_unknown_default_mode() -> None:
    with override_settings(VIEWER_MODE="nonsense"):
        ids = {message.id for message in run_checks()}
    assert "modes.E002" in ids


def test_system_check_refuses_a_bad_policy_path() -> None:
    with override_settings(VIEWER_MODE_POLICIES={"odd": "modes.models.InstanceConfig"}):
        ids = {message.id for message in run_checks()}
    assert "modes.E001" in ids


ALL_KEYS = [
    # mode, (content, collection, context) -> (collection, context, content)
    ("content", ("SDA", "C1", "B1"), ("SDA", "SDA", "SDA")),
    ("content", ("SDA", None, None), ("SDA", "SDA", "SDA")),
    ("collection", ("SDA", "C1", "B1"), ("C1", "C1", "SDA")),
    ("collection", ("SDA", "C1", None), ("C1", "C1", "SDA")),
    ("collection", ("SDA", None, None), ("SDA", "SDA", "SDA")),
    ("copy", ("SDA", "C1", "B1"), ("C1", "B1", "SDA")),
    ("copy", ("SDA", None, None), ("SDA", "SDA", "SDA")),
    ("move", ("SDA", "C1", "B1"), ("C1", "B1", "SDA")),
    ("move", ("SDA", "C1", None), ("C1", "C1", "SDA")),
]


@pytest.mark.parametrize(("mode", "given", "expected"), ALL_KEYS)
def test_mode_key(mode: str, given: tuple, expected: tuple) -> None:
    from modes.registry import policy_class

    policy = policy_class(mode)(ModeConfig(mode=mode))
    assert policy.key(ViewTarget("rahul", *given)) == ConsumptionKey("rahul", *expected)


@pytest.mark.parametrize(
    ("mode", "rules", "message"),
    [
        ("copy", None, "copy mode needs rules"),
        ("copy", {"rules": [{"type": "nope"}]}, "rules[0].type: must be one of"),
        ("move", {"match": "both", "rules": [{"type": "always"}]}, "match: must be 'all' or 'any'"),
    ],
)
def test_instance_config_refuses_bad_rules(mode: str, rules: object, message: str) -> None:
    config = InstanceConfig(mode=mode, rules=rules)
    with pytest.raises(Exception) as caught:
        config.full_clean()
    assert message in str(caught.value)


def test_viewer_mode_command_shows_and_sets() -> None:
    import io
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("viewer_mode", stdout=out)
    assert json.loads(out.getvalue())["mode"] == "strict"
    out = io.StringIO()
    rules = '{"match": "any", "rules": [{"type": "always"}]}'
    call_command(
        "viewer_mode",
        "--mode",
        "copy",
        "--scope",
        "collection",
        "--rules",
        rules,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert json.loads(out.getvalue()) == {
        "mode": "copy",
        "copyScope": "collection",
        "rules": json.loads(rules),
    }
    assert active_policy().name == "copy"
    with pytest.raises(CommandError, match="rules: copy mode needs rules"):
        call_command("viewer_mode", "--rules", "", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown mode 'sideways'"):
        call_command("viewer_mode", "--mode", "sideways", stdout=io.StringIO())
