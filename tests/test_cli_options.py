"""coverage.cli.options: every command's options unchanged (a snapshot), the shared bundles, option values fuzzed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from coverage.cli import app, exits
from coverage.cli import options as o

SNAPSHOT = Path(__file__).parent / "snapshots" / "cli_options.json"


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def command_options() -> dict[str, Any]:
    """Every command's help and parameters (names, flags, defaults, help texts, types, in --help order)."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    out: dict[str, Any] = {}
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        out[name] = {"help": cmd.help, "params": [
            {"name": p.name, "kind": p.param_type_name, "opts": list(p.opts), "secondary": list(p.secondary_opts),
             "default": _plain(p.default), "required": p.required, "multiple": p.multiple,
             "help": getattr(p, "help", None), "count": getattr(p, "count", False),
             "type": str(p.type_descriptor.annotation), "min": getattr(p, "min", None),
             "is_flag": getattr(p, "is_flag", False)} for p in cmd.params]}
    out["(root)"] = {"help": group.help, "params": [{"name": p.name, "opts": list(p.opts), "default": _plain(p.default)}
                                                    for p in group.params]}
    return out


def test_options_are_those_of_the_snapshot():
    """Flags, defaults, help texts, types and order of every command are those taken from main before the
    CLI became a package (tests/snapshots/cli_options.json): the refactoring changed none."""
    now, before = command_options(), json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert sorted(now) == sorted(before)
    for command in before:
        assert now[command] == before[command], command


def test_snapshot_can_tell_a_changed_default():
    """The comparison above is not vacuous: one default changed is seen."""
    before = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(before))
    distance = next(p for p in changed["report"]["params"] if p["name"] == "distance_km")
    distance["default"] = 6.0
    assert changed != before and distance["default"] != 5.0


def test_shared_options_default_to_the_bundle_fields():
    """A shared option's default is its bundle field's default: one source for both."""
    report = {p["name"]: p["default"] for p in command_options()["report"]["params"]}
    for bundle in (o.RunOptions(), o.MapOptions()):
        for name, value in vars(bundle).items():
            assert report[name] == _plain(value), name


def test_with_options_passes_the_bundles():
    """with_options gives a command its shared options as one RunOptions / MapOptions; the others keep defaults."""
    from typer.testing import CliRunner

    seen = {}

    @o.with_options("county out distance_km png")
    def probe(opts: o.RunOptions, maps: o.MapOptions, out: str = "x") -> None:
        seen.update(opts=opts, maps=maps, out=out)

    probe_app = typer.Typer()
    probe_app.command()(probe)
    probe_app.command("other")(lambda: None)
    result = CliRunner().invoke(probe_app, ["probe", "-c", "嘉義縣", "-c", "台中", "--distance-km", "2.5", "--png",
                                            "--out", "y"])
    assert result.exit_code == 0, result.output
    assert seen["opts"] == o.RunOptions(county=["嘉義縣", "台中"], distance_km=2.5)
    assert seen["maps"] == o.MapOptions(png=True) and seen["out"] == "y"


@pytest.mark.parametrize(("layout", "problem"), [("county nonsense", "unknown"), ("county", "leaves out")])
def test_with_options_refuses_a_wrong_layout(layout, problem):
    """A layout naming an option that is not shared, or leaving out one of the command's own, is a defect."""
    def command(opts: o.RunOptions, own: int = 1) -> None:
        pass

    if problem == "unknown":
        layout += " own"
    with pytest.raises(TypeError, match=problem):
        o.with_options(layout)(command)


# ----------------------------------------------------------------------------- option values, fuzzed

_REAL = ["嘉義縣", "臺中市", "台中", "小衛星", "社福中心", "心衛中心", "會所", "children", "elderly", "presence",
         "service-area", "2023-07-01", "112/07/01", "2019", "108"]
_OPTION_COUNT = {"examples": 0}


def _mangled():
    from hypothesis import strategies as st

    def mangle(text: str, cut: int, extra: str) -> str:
        cut = cut % (len(text) + 1)
        return text[:cut] + extra + text[cut + 1:]

    return st.one_of(
        st.sampled_from(_REAL),
        st.builds(mangle, st.sampled_from(_REAL), st.integers(0, 12), st.text(max_size=2)),
        st.text(max_size=12),
    )


def test_option_values_resolve_or_are_one_line_usage_errors(townships):
    """Any text given to --county/--category/--as-of/--age-group/--definition/--from: a value, or a
    one-line OptionError (exit 2) naming the option; never another exception."""
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    resolvers = {
        "--county": lambda v: o.resolve_county_options([v], townships),
        "--category": lambda v: o.resolve_category_options([v], {"少年服務方案", "community_support_point"}),
        "--as-of": o.parse_as_of,
        "--age-group": o.resolve_age_group_option,
        "--definition": o.check_definition,
        "--from": lambda v: o.parse_year_option("--from", v),
        "--xy-datum": o.check_xy_datum,
    }

    @settings(max_examples=300, deadline=None)
    @given(option=st.sampled_from(sorted(resolvers)), value=_mangled())
    def check(option, value):
        try:
            resolvers[option](value)
        except exits.OptionError as exc:
            event(f"{option}: usage error")
            message = str(exc)
            assert message.startswith(f"{option}: ") and "\n" not in message
            assert exits.fail(exc).exit_code == 2
        else:
            event(f"{option}: accepted")
        _OPTION_COUNT["examples"] += 1

    check()
    assert _OPTION_COUNT["examples"] >= 300



def write_snapshot() -> None:
    """Rewrite tests/snapshots/cli_options.json after a deliberate change (``python tests/test_cli_options.py``)."""
    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    lines = ["{"]
    items = sorted(command_options().items())
    for n, (name, command) in enumerate(items):
        head = {k: v for k, v in command.items() if k != "params"}
        lines.append(f" {dump(name)}: {dump(head)[:-1]}, \"params\": [")
        lines.append(",\n".join(f"  {dump(p)}" for p in command["params"]))
        lines.append(" ]}" + ("," if n < len(items) - 1 else ""))
    lines.append("}")
    SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_snapshot()
