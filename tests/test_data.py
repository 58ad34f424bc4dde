import dataclasses
import hashlib
import lzma

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite import data as D


def test_packaged_text_is_tiny_shakespeare():
    text = nl.load_text()
    raw = text.encode("utf-8")
    assert len(raw) == D.SIZE_BYTES == 1_115_394
    assert hashlib.sha256(raw).hexdigest() == D.SHA256
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")


def test_packaged_file_is_compressed_inside_the_package():
    from importlib import resources

    blob = resources.files("nanogpt_lite.data").joinpath(D.PACKAGED_FILE).read_bytes()
    assert len(blob) < 400_000  # xz: about a third of the 1.1 MB text
    assert D.decode_packaged(blob) == nl.load_text()


def test_damaged_packaged_bytes_are_refused_with_the_fix():
    blob = lzma.compress(b"To be, or not to be\n")
    with pytest.raises(nl.DataError, match="校验失败.*failed its checksum.*reinstall"):
        D.decode_packaged(blob)
    with pytest.raises(nl.DataError, match="已损坏.*corrupt.*reinstall"):
        D.decode_packaged(b"definitely not xz")


def test_missing_packaged_file_is_named(monkeypatch):
    monkeypatch.setitem(D.CORPORA, "shakespeare", dataclasses.replace(D.SHAKESPEARE, file="nowhere.txt.xz"))
    D._packaged_text.cache_clear()
    try:
        with pytest.raises(nl.DataError, match="nowhere.txt.xz"):
            D.load_text()
    finally:
        monkeypatch.undo()
        D._packaged_text.cache_clear()


def test_own_text_file_is_read_as_utf8(tmp_path):
    own = tmp_path / "诗.txt"
    own.write_text("床前明月光\n疑是地上霜\n", encoding="utf-8")
    assert nl.load_text(own) == "床前明月光\n疑是地上霜\n"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "找不到文件.*no such file"),
        (lambda p: (p.mkdir(), p)[1], "是文件夹.*is a folder"),
        (lambda p: (p.write_bytes("你好".encode("gbk")), p)[1], "不是 UTF-8.*not UTF-8.*UTF-8"),
        (lambda p: (p.write_bytes(b""), p)[1], "空文件.*is empty"),
    ],
    ids=["missing", "folder", "gbk", "empty"],
)
def test_own_text_file_errors_name_the_culprit_and_the_fix(tmp_path, make, message):
    target = make(tmp_path / "mine.txt")
    with pytest.raises(nl.DataError, match=message) as err:
        nl.load_text(target)
    assert str(target) in str(err.value)


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


def test_real_text_splits_as_nanogpt(shakespeare):
    text, tok, train, val = shakespeare
    assert len(train) + len(val) == len(text) and len(train) == int(0.9 * len(text))
