"""Header work: dcmread(stop_before_pixels=True) over a CT series, and dcmread + one tag."""

WORKLOADS = ["header-scan", "tag-access"]


def test_header(case):
    case.run()
