"""`taxopt rules ...` driven through taxopt.cli.main, as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

from taxopt.cli import main
from taxopt.rules import RULES_DIR, available_rule_sets

SHIPPED = available_rule_sets()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["rules", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_name_year_extends_and_title(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "YEAR", "EXTENDS", "TITLE"]
    reform = next(line for line in lines if line.startswith("us-federal-2026-pre-tcja"))
    assert reform.split()[1:3] == ["2026", "us-federal-2026"]
    for name in SHIPPED:
        assert any(line.startswith(name + " ") for line in lines)


def test_list_json_and_an_invalid_file_is_marked_not_fatal(capsys, tmp_path):
    (tmp_path / "good.toml").write_text('extends = "us-federal-2026"\n', encoding="utf-8")
    (tmp_path / "broken.toml").write_text("[meta\n", encoding="utf-8")
    code, out, _ = run(capsys, "list", "--json", "--rules-dir", str(tmp_path))
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    # good.toml has no [meta] of its own, so it carries its parent's name.
    assert rows["us-federal-2026"]["extends"] == "us-federal-2026"
    assert rows["broken"]["title"].startswith("INVALID: ")


def test_show_prints_every_table_with_its_source(capsys):
    code, out, _ = run(capsys, "show", "us-federal-2026")
    assert code == 0
    assert "[deductions[senior]]" in out
    assert "source: IRC §151(d)(5)(C) added by P.L. 119-21 §70103" in out
    # A schedule reads as rate-from-threshold pairs (Rev. Proc. 2025-32 §4.01, Table 3).
    assert "brackets.single: 10% from 0, 12% from 12,400, 22% from 50,400" in out
    assert "[rmd]" in out and "uniform_lifetime_table.75 = 24.6" in out


def test_show_json_by_path(capsys):
    code, out, _ = run(capsys, "show", str(RULES_DIR / "uk-2025-26.toml"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["meta"]["currency"] == "GBP"
    tables = {t["table"]: t for t in data["tables"]}
    assert tables["deductions[personal_allowance]"]["values"]["amount.single"] == 12570
    assert all(len(t["source"]) >= 3 for t in data["tables"])


def test_show_unknown_name_lists_the_known_ones(capsys):
    code, _, err = run(capsys, "show", "us-federal-1999")
    assert code == 2
    assert err.startswith("taxopt: rules: no rule set named 'us-federal-1999'")
    assert "us-federal-2026-pre-tcja" in err
    assert "Traceback" not in err


def test_validate_ok_files(capsys):
    paths = [str(RULES_DIR / f"{name}.toml") for name in SHIPPED]
    code, out, err = run(capsys, "validate", *paths)
    assert code == 0, err
    oks = [line for line in out.splitlines() if not line.startswith("  note:")]
    assert [line.split()[0] for line in oks] == ["ok:"] * len(SHIPPED)
    assert "us-federal-2026-pre-tcja, year 2026" in out
    # Every shipped rule set is one the optimizer can model (Canada's levels, clawbacks,
    # gross-ups and shaped credits too: taxopt.model.layered), so none has a note.
    assert not [line for line in out.splitlines() if line.startswith("  note:")]


def test_validate_notes_a_level_the_optimizer_cannot_model(capsys, tmp_path):
    text = (RULES_DIR / "ca-on-2026.toml").read_text()
    falling = text.replace(
        "rates      = [0.0505, 0.0915, 0.1116, 0.1216, 0.1316]",
        "rates      = [0.0505, 0.0915, 0.1116, 0.1216, 0.1016]",
    )
    assert falling != text
    path = tmp_path / "ca-on-falling.toml"
    path.write_text(falling.replace('name = "ca-on-2026"', 'name = "ca-on-falling"'))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert (
        "note: the optimizer cannot model this rule set (`taxopt tax` can): "
        "levels[ontario].ordinary.brackets.single: rates that fall with income" in out
    )


def test_validate_reports_file_field_and_reason_and_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'extends = "us-federal-2026"\n[[surtaxes]]\nname = "niit"\nrate = 3.8\nsource = "test"\n',
        encoding="utf-8",
    )
    good = RULES_DIR / "us-federal-2025.toml"
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 2
    assert out.startswith(f"ok: {good}")
    assert f"{bad}: surtaxes[0].rate: Input should be less than or equal to 1" in err


def test_diff_of_a_rule_set_with_itself(capsys):
    code, out, _ = run(capsys, "diff", "us-federal-2026", str(RULES_DIR / "us-federal-2026.toml"))
    assert (code, out.strip()) == (0, "us-federal-2026 vs us-federal-2026: no differences")


def test_diff_2025_2026_shows_values_with_both_sources(capsys):
    code, out, _ = run(capsys, "diff", "us-federal-2025", "us-federal-2026")
    assert code == 0
    assert "deductions[standard].amount.single: 15,750 -> 16,100" in out
    assert "us-federal-2025: IRC §63(c)(7)" in out
    assert "us-federal-2026: IRC §63(c)(7) as amended by P.L. 119-21 §70102; 2026 amounts" in out


def test_diff_json_reform(capsys):
    code, out, _ = run(capsys, "diff", "us-federal-2026", "us-federal-2026-pre-tcja", "--json")
    assert code == 0
    data = json.loads(out)
    by_path = {d["path"]: d for d in data["differences"]}
    rates = by_path["ordinary.brackets.single.rates"]
    assert rates["b_value"] == [0.10, 0.15, 0.25, 0.28, 0.33, 0.35, 0.396]
    assert "Rev. Proc. 2016-55" in rates["b_source"]
    assert by_path["deductions[senior]"]["b_value"] is None
    assert by_path["deductions[personal_exemption]"]["a_value"] is None
    # Untouched by the reform, so not a difference.
    assert not any(path.startswith("surtaxes") for path in by_path)


def test_rules_requires_an_action(capsys):
    assert main(["rules"]) == 2
    err = capsys.readouterr().err
    assert "ACTION" in err and err.count("\n") == 1


def test_paths_outside_rules_dir_can_extend_by_name(capsys, tmp_path: Path):
    reform = tmp_path / "niit5.toml"
    reform.write_text(
        'extends = "us-federal-2026"\n[meta]\nname = "niit5"\ntitle = "NIIT at 5%"\n'
        '[[surtaxes]]\nname = "niit"\nrate = 0.05\nsource = "A test reform of IRC §1411"\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "diff", "us-federal-2026", str(reform))
    assert code == 0
    assert out.splitlines()[0] == "us-federal-2026 -> niit5: 2 differences"
    assert "surtaxes[niit].rate: 3.8% -> 5%" in out
