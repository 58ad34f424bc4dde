"""Which CPU kernels produced a notebook's numbers, and how nbval compares cells whose digits depend on them.

Float addition is not associative, and PyTorch picks its matrix-multiply, softmax and GELU kernels by
CPU (AVX2 or AVX-512; Intel or AMD, through MKL and oneDNN). Each kernel sums in its own order, so the
last bits of every float differ from one CPU to another, and training amplifies them into another model
(chapter 6's GPT: whole-split val 1.7727 on one machine, 1.7471 on an AMD EPYC). So chapters analyse
shipped models (chapter 6's reference GPT, ``nanogpt_lite.reference``); what remains is chapter 4's bigram,
trained in the notebook, whose one tagged cell prints probabilities to four decimals.

``tools.execute_notebooks`` records :func:`fingerprint` in a notebook's metadata. Under ``make test``,
a cell tagged ``cpu-dependent`` is compared exactly when the fingerprint matches this machine's, and
otherwise through :func:`mask_cpu_dependent`: the words, the layout and every ``True``/``False`` must
still match, the numbers and quoted text may differ.
"""
from __future__ import annotations

import hashlib
import re

import torch

TAG = "cpu-dependent"
METADATA_KEY = "nanogpt_lite"

# A Python repr of a string ('…' or "…", with escapes), then a number (signs, thousands commas,
# decimals, a percent sign; "−" is the minus sign the chapters print).
_QUOTED = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")


def mask_cpu_dependent(text: str) -> str:
    """``text`` with quoted strings replaced by ``'…'`` and numbers by ``#``."""
    return _NUMBER.sub("#", _QUOTED.sub("'…'", text))


def fingerprint() -> str:
    """A short hash of a few training steps of chapter 6's GPT: equal on two machines only if their kernels agree."""
    from nanogpt_lite.gpt_training import CPU_RECIPE, model_from_recipe

    model = model_from_recipe(CPU_RECIPE, vocab_size=65, seed=0)
    optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-2, betas=(0.9, 0.99), device_type="cpu")
    generator = torch.Generator().manual_seed(0)
    idx = torch.randint(65, (4, CPU_RECIPE["block_size"] + 1), generator=generator)
    for _ in range(3):
        _, loss = model(idx[:, :-1].contiguous(), idx[:, 1:].contiguous())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def recorded(metadata: dict) -> str | None:
    """The fingerprint a notebook's metadata records, if any."""
    return metadata.get(METADATA_KEY, {}).get("kernels")
