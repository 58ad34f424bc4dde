import pytest
import torch
from hypothesis import settings

import nanogpt_lite as nl

# One answer on every machine and every run: fixed examples, no example database replaying an old
# failure from .hypothesis/ (CI=true alone used to hide a flaky property).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.load_profile("deterministic")

SMALL_TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
) * 4


@pytest.fixture
def small_text() -> str:
    return SMALL_TEXT


@pytest.fixture
def small_tok() -> nl.CharTokenizer:
    return nl.CharTokenizer.from_text(SMALL_TEXT)


@pytest.fixture
def small_data(small_tok) -> torch.Tensor:
    return torch.tensor(small_tok.encode(SMALL_TEXT))


@pytest.fixture(scope="session")
def shakespeare():
    """Tiny Shakespeare, its tokenizer and the 90/10 split (the integration tests)."""
    text = nl.load_text()
    tok = nl.CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text))
    train, val = nl.split(data, 0.9)
    return text, tok, train, val
