"""Bulk work: a tag scan of a series into columns, and a series into one caller-owned volume."""

WORKLOADS = ["scan", "ingest/*"]


def test_bulk(case):
    case.run()
