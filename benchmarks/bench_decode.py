"""Pixel decode per file (CT series) and per frame (by index from a multi-frame), in Explicit VR
Little Endian, Explicit VR Big Endian, RLE Lossless and JPEG Lossless SV1."""

WORKLOADS = ["file/ct-native", "file/ct-rle", "file/ct-jpegll", "frame/*"]


def test_decode(case):
    case.run()
