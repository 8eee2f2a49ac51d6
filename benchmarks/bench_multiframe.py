"""Whole multi-frame files (CT, RGB ultrasound, big endian), dicodec with and without threads."""

WORKLOADS = ["file/ct-mf-*", "file/us-mf-*", "file/be-mf"]


def test_multiframe(case):
    case.run()
