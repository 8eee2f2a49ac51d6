"""The codecs alone on bare encoded frames: dicodec.codecs against imagecodecs."""

WORKLOADS = ["codec/*"]


def test_codec(case):
    case.run()
