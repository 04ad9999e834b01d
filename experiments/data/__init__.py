"""Data files of the clearing library (a package so that the files ship with it).

- ``feeder15.json``: the 15-node test feeder of the FLEXGRID evaluation, with its sources;
- ``suppliers_high.csv``, ``suppliers_low.csv``: the FLEXGRID suppliers, converted from the
  published workbook by :mod:`experiments.convert_suppliers`.
"""
