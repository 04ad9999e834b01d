"""Convert the FLEXGRID supplier workbook into the project's own CSV files.

Why a converter: the published data (``FlexSuppliersData.xlsx``, reference [22] of the
FLEXGRID paper) is a spreadsheet with merged header cells, and reading it needs openpyxl,
a development-only dependency. The product reads the committed CSVs
(``experiments/data/suppliers_high.csv``, ``suppliers_low.csv``) instead; this module is run
once, by hand, and a unit test checks that its output still equals the committed files::

    python -m experiments.convert_suppliers SRC.xlsx OUTDIR

Sheet layout (read from row 2 on): column 0 the bus, then four blocks of 25 columns —
P up, P down, Q up, Q down — each a price (EUR/MWh) and 24 hourly quantities (MW/MVAr).
Output: one CSV row per supplier and offered product; products whose 24 quantities are all
zero are left out. Suppliers are named ``fsp01``, ``fsp02``… in sheet order.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.paper import PRODUCTS, SupplierProduct

PERIODS = 24
#: Workbook sheet name per liquidity scenario.
SHEETS = {"high": "High Liquidity", "low": "Low Liquidity"}
FIRST_DATA_ROW = 2
BLOCK_WIDTH = 1 + PERIODS
CSV_HEADER = ("supplier", "node", "product", "price_eur_per_mwh") + tuple(
    f"q{t:02d}" for t in range(1, PERIODS + 1)
)


def _number(value: object, where: str) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, found {value!r}")
    return float(value)


def products_from_rows(rows: Sequence[Sequence[object]], sheet: str) -> list[SupplierProduct]:
    """Turn the data rows of one sheet (header rows already removed) into supplier products."""
    out: list[SupplierProduct] = []
    index = 0
    for r, row in enumerate(rows, start=FIRST_DATA_ROW):
        if not row or row[0] is None or row[0] == "":
            continue
        index += 1
        supplier = f"fsp{index:02d}"
        node = str(int(_number(row[0], f"{sheet} row {r} bus")))
        for b, product in enumerate(PRODUCTS):
            start = 1 + b * BLOCK_WIDTH
            cells = list(row[start : start + BLOCK_WIDTH]) + [None] * BLOCK_WIDTH
            price = _number(cells[0], f"{sheet} row {r} {product} price")
            quantities = tuple(
                _number(cells[1 + t], f"{sheet} row {r} {product} t={t + 1}") for t in range(PERIODS)
            )
            if all(q == 0.0 for q in quantities):
                continue
            out.append(SupplierProduct(supplier, node, product, price, quantities))
    return out


def _format(value: float) -> str:
    """Shortest text that reads back as the same float: the CSV keeps the workbook's values exactly."""
    return repr(float(value))


def to_csv(products: Sequence[SupplierProduct]) -> str:
    """CSV text of supplier products, one row each, with a fixed header and ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for p in products:
        writer.writerow(
            [p.supplier, p.node, p.product, _format(p.price_eur_per_mwh)] + [_format(q) for q in p.quantities]
        )
    return buffer.getvalue()


def convert_workbook(source: Path) -> dict[str, str]:
    """CSV text per liquidity scenario (``high``, ``low``) read from the workbook at ``source``."""
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is a dev dependency
        raise SystemExit("openpyxl is needed to read the workbook: pip install 'flexledger[dev]'") from exc
    workbook = load_workbook(source, read_only=True, data_only=True)
    try:
        texts: dict[str, str] = {}
        for liquidity, sheet in SHEETS.items():
            rows = [
                tuple(row) for row in workbook[sheet].iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True)
            ]
            texts[liquidity] = to_csv(products_from_rows(rows, sheet))
        return texts
    finally:
        workbook.close()


def output_name(liquidity: str) -> str:
    """File name of the CSV for one liquidity scenario."""
    return f"suppliers_{liquidity}.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="FlexSuppliersData.xlsx")
    parser.add_argument("outdir", type=Path, help="folder for suppliers_high.csv and suppliers_low.csv")
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    for liquidity, text in convert_workbook(args.source).items():
        target = args.outdir / output_name(liquidity)
        target.write_text(text, encoding="utf-8", newline="")
        print(f"wrote {target} ({text.count(chr(10)) - 1} offers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
