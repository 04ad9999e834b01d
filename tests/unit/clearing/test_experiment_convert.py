"""The supplier converter: the committed CSVs are exactly what the published workbook gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments import convert_suppliers as conv

REPO = Path(__file__).resolve().parents[3]
WORKBOOK = REPO.parent / "shared" / "data" / "FlexSuppliersData.xlsx"
DATA = REPO / "experiments" / "data"


def _row(bus: object, blocks: list[tuple[float, list[float]]]) -> list[object]:
    row: list[object] = [bus]
    for price, quantities in blocks:
        row += [price, *quantities]
    return row


ZERO = (0.0, [0.0] * conv.PERIODS)


@pytest.mark.skipif(not WORKBOOK.exists(), reason="the published workbook is not next to the repository")
def test_committed_csvs_equal_a_fresh_conversion_of_the_workbook(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    assert conv.main([str(WORKBOOK), str(tmp_path)]) == 0
    for liquidity in ("high", "low"):
        name = conv.output_name(liquidity)
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_committed_csvs_hold_the_papers_30_and_9_assets() -> None:
    for liquidity, assets in (("high", 30), ("low", 9)):
        lines = (DATA / conv.output_name(liquidity)).read_text(encoding="utf-8").splitlines()
        assert tuple(lines[0].split(",")) == conv.CSV_HEADER
        assert len({line.split(",")[0] for line in lines[1:]}) == assets


def test_products_with_only_zero_quantities_are_left_out_and_suppliers_numbered_in_sheet_order() -> None:
    rows = [
        _row(4, [ZERO, ZERO, (3.0, [0.25] * 24), (3.0, [0.25] * 24)]),
        [None],
        _row(13, [(5.0, [0.5] * 24), (5.0, [0.5] * 24), ZERO, ZERO]),
    ]
    products = conv.products_from_rows(rows, "Low Liquidity")
    assert [(p.supplier, p.node, p.product) for p in products] == [
        ("fsp01", "4", "q_up"),
        ("fsp01", "4", "q_down"),
        ("fsp02", "13", "p_up"),
        ("fsp02", "13", "p_down"),
    ]
    assert products[2].price_eur_per_mwh == 5.0 and products[2].quantities == (0.5,) * 24


def test_csv_text_keeps_the_workbook_values_exactly() -> None:
    quantities = [0.015762964734010763] + [0.0] * 23
    text = conv.to_csv(conv.products_from_rows([_row(12, [(14.0, quantities), ZERO, ZERO, ZERO])], "s"))
    cells = text.splitlines()[1].split(",")
    assert cells[:5] == ["fsp01", "12", "p_up", "14.0", "0.015762964734010763"]
    assert float(cells[4]) == quantities[0]


def test_a_cell_that_is_not_a_number_is_refused_with_its_sheet_and_row() -> None:
    row = _row(5, [(13.0, [0.25] * 24), ZERO, ZERO, ZERO])
    row[3] = "n/a"
    with pytest.raises(ValueError, match=r"High Liquidity row 2 p_up t=2"):
        conv.products_from_rows([row], "High Liquidity")
