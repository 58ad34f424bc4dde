import hashlib
import os

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite import data as D
from nanogpt_lite.data.__main__ import main as cli


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    """A fake tiny Shakespeare (its checksum patched in) and an empty data directory."""
    payload = b"To be, or not to be, that is the question.\n" * 50
    source = tmp_path / "mirror" / "input.txt"
    source.parent.mkdir()
    source.write_bytes(payload)
    monkeypatch.setattr(D, "SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(D, "SIZE_BYTES", len(payload))
    monkeypatch.setenv(D.DIR_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(D.URL_ENV, raising=False)
    return source, payload


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_fetch_from_local_path(fake_data):
    source, payload = fake_data
    dest = D.fetch(source)
    assert dest == D.data_path() and dest.read_bytes() == payload
    assert leftovers(dest.parent) == ["input.txt"]


def test_fetch_from_file_url_via_environment(fake_data, monkeypatch):
    source, payload = fake_data
    monkeypatch.setenv(D.URL_ENV, source.as_uri())
    assert D.load_text() == payload.decode()  # first use fetches


def test_checksum_mismatch_leaves_nothing(fake_data, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"not shakespeare")
    with pytest.raises(nl.DataError, match=r"sha256 is [0-9a-f]{64}, expected") as err:
        D.fetch(bad)
    assert "not saved" in str(err.value)
    assert leftovers(D.data_path().parent) == []


def test_offline_error_names_three_ways(fake_data, monkeypatch):
    monkeypatch.setenv(D.URL_ENV, "http://127.0.0.1:9/input.txt")  # nothing listens on the discard port
    with pytest.raises(nl.DataError) as err:
        D.load_text()
    message = str(err.value)
    assert "Could not download" in message
    assert "nanogpt_lite.data fetch" in message and D.URL_ENV in message and "--from" in message
    assert leftovers(D.data_path().parent) == []


def test_missing_local_copy_is_named(fake_data, tmp_path):
    with pytest.raises(nl.DataError, match="No file at .*nowhere.txt"):
        D.fetch(tmp_path / "nowhere.txt")


def test_truncated_cache_is_refused(fake_data):
    source, payload = fake_data
    D.fetch(source)
    D.data_path().write_bytes(payload[:100])
    with pytest.raises(nl.DataError, match="corrupt or truncated"):
        D.load_text()


def test_cli_fetch_then_reports_in_place(fake_data, capsys):
    source, _ = fake_data
    assert cli(["fetch", "--from", str(source)]) == 0
    assert "sha256 verified" in capsys.readouterr().out
    assert cli(["fetch"]) == 0
    assert "in place and verified" in capsys.readouterr().out


def test_cli_reports_errors_with_exit_status(fake_data, tmp_path, capsys):
    assert cli(["fetch", "--from", str(tmp_path / "missing.txt")]) == 1
    assert "No file at" in capsys.readouterr().err


def test_split_is_ninety_ten():
    data = torch.arange(1000)
    train, val = nl.split(data, 0.9)
    assert len(train) == 900 and len(val) == 100 and torch.equal(torch.cat([train, val]), data)
    with pytest.raises(ValueError):
        nl.split(data, 1.5)


def test_get_batch_targets_are_inputs_shifted_by_one():
    data = torch.arange(500)
    x, y = nl.get_batch(data, 16, 8, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (16, 8)
    assert torch.equal(y, x + 1)  # arange: the next token is the value plus one
    assert torch.equal(x[:, 1:], x[:, :-1] + 1)  # each row is a contiguous window


def test_get_batch_is_reproducible_with_a_generator():
    data = torch.arange(500)
    a = nl.get_batch(data, 4, 8, generator=torch.Generator().manual_seed(7))
    b = nl.get_batch(data, 4, 8, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_get_batch_rejects_too_short_data():
    with pytest.raises(ValueError, match="need more than block_size=8"):
        nl.get_batch(torch.arange(8), 2, 8, generator=torch.Generator())


def test_real_file_is_verified(shakespeare):
    text, *_ = shakespeare
    assert len(text.encode()) == 1_115_394
    assert D.sha256_of(D.data_path()) == D.SHA256
    assert os.path.basename(D.data_path()) == "input.txt"
