"""Discovery: built-ins, module paths, refusals with reasons, and the isolated listing."""

from __future__ import annotations

import json

from syncengine.converters import API_VERSION, discover, list_converters

from .conftest import PLUGINS


def _refusal(found, name):
    return next(r for r in found.refused if r.name == name)


def test_builtins_are_found_in_order():
    found = discover(entry_points=False)
    assert [i.name for i in found.infos] == ["wsjf", "wsxf", "wats_text", "csv"]


def test_plugin_api_version_is_one():
    assert API_VERSION == 1


def test_converter_with_other_api_version_is_refused_with_reason(misbehaving):
    found = discover([misbehaving], entry_points=False)
    refusal = _refusal(found, "future_api")
    assert "future_api" not in found.converters
    assert "api_version = 2" in refusal.reason and "v1 only" in refusal.reason


def test_nameless_converter_is_refused(misbehaving):
    found = discover([misbehaving], entry_points=False)
    assert any("has no name" in r.reason for r in found.refused)


def test_converter_that_cannot_be_instantiated_is_refused(misbehaving):
    found = discover([misbehaving], entry_points=False)
    assert "could not be instantiated" in _refusal(found, "needs_args").reason


def test_well_formed_plugins_from_a_file_path_are_loaded(misbehaving):
    found = discover([misbehaving], entry_points=False)
    assert {"raises", "hangs", "echo", "noisy"} <= set(found.converters)
    echo = next(i for i in found.infos if i.name == "echo")
    assert echo.version == "1.5" and echo.patterns == ("*.echo",) and echo.has_validate


def test_module_that_fails_to_import_is_refused_with_the_error():
    found = discover([str(PLUGINS / "broken_import.py")], entry_points=False)
    (refusal,) = found.refused
    assert "import failed: ImportError" in refusal.reason
    assert "not installed" in refusal.reason


def test_missing_module_path_is_refused():
    found = discover(["no_such_package.no_such_module"], entry_points=False)
    assert "ModuleNotFoundError" in found.refused[0].reason


def test_module_without_converters_is_reported():
    found = discover([str(PLUGINS / "empty_module.py")], entry_points=False)
    assert "defines no converter" in found.refused[0].reason


def test_plugin_cannot_replace_a_builtin_by_name():
    found = discover([str(PLUGINS / "duplicate_wsjf.py")], entry_points=False)
    refusal = _refusal(found, "wsjf")
    assert "duplicate name" in refusal.reason and "builtin" in refusal.reason
    assert type(found.converters["wsjf"]).__name__ == "WsjfConverter"


def test_converters_list_offers_instances_and_classes():
    found = discover([str(PLUGINS / "duplicate_wsjf.py")], entry_points=False)
    assert "other" in found.converters


def test_dotted_module_path_is_imported():
    found = discover(["syncengine.converters._wsjf"], entry_points=False, builtins=False)
    assert list(found.converters) == ["wsjf"]


def test_list_converters_runs_discovery_in_a_subprocess_and_is_json_serialisable(misbehaving):
    report = list_converters([misbehaving, str(PLUGINS / "broken_import.py")])
    names = [c.name for c in report.converters]
    assert names[:4] == ["wsjf", "wsxf", "wats_text", "csv"] and "segfaults" in names
    reasons = json.dumps(report.to_json())
    assert "api_version = 2" in reasons and "import failed" in reasons
