"""The dicodec command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dicodec.cli import main
from dicodec.samples import sample_files


def test_info_with_no_argument_covers_the_bundled_samples(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for sample in sample_files():
        assert str(sample) in out
    assert "transfer syntax  1.2.840.10008.1.2.5 (RLE Lossless)" in out
    assert "image            128 x 128, 1 frame(s)" in out


def test_info_json(capsys):
    ct = next(p for p in sample_files() if p.name == "CT_small.dcm")
    assert main(["info", "--json", str(ct)]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 128 and summary["modality"] == "CT"
    assert summary["pixel_data_bytes"] == 128 * 128 * 2
    assert summary["transfer_syntax"] == "1.2.840.10008.1.2.1"


def test_dump_prints_an_indented_tree(capsys):
    ct = next(p for p in sample_files() if p.name == "CT_small.dcm")
    assert main(["dump", str(ct)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("(0010,0010) PN #") and "PatientName" in line for line in lines)
    assert any(line.startswith("    (0010,0020) LO") for line in lines)  # inside a sequence item
    assert all(len(line) < 160 for line in lines)


def test_dump_json_is_the_dicom_json_model(capsys):
    ct = next(p for p in sample_files() if p.name == "CT_small.dcm")
    assert main(["dump", "--json", str(ct)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["dataset"]["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}


def test_bad_input_gives_one_line_and_a_non_zero_exit(tmp_path, capsys):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dicodec info: error:") and str(bad) in err[0]


def test_missing_file(tmp_path, capsys):
    assert main(["dump", str(tmp_path / "nope.dcm")]) == 1
    assert "nope.dcm" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["info", "dump"])
def test_console_script_runs(command):
    result = subprocess.run(
        [sys.executable, "-m", "dicodec.cli", command], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "CT_small.dcm" in result.stdout
