"""Rebuild nanogpt_lite/data/tang_poems.txt.xz, 《全唐诗》, from the npm package chinese-poetry (MIT).

    npm install --prefix build/poetry chinese-poetry@2.0.1        # 350 MB, not part of any install
    python -m tools.tang_poems build/poetry/node_modules/chinese-poetry

Each of the 57,607 poems of dist/quantangshi/poet.tang.*.json (files in numeric order, poems in file
order) becomes its title on one line, then its lines (`paragraphs`) one per line, then a blank line.
The script is kept as the source has it (traditional). The text's sha256 must equal
nanogpt_lite.data.TANG's, else nothing is written: a changed source is a new corpus, to be reviewed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import sys
import tempfile
from pathlib import Path

from nanogpt_lite.data import TANG

ROOT = Path(__file__).parents[1]
TARGET = ROOT / "nanogpt_lite" / "data" / TANG.file
NOTICE = ROOT / "nanogpt_lite" / "data" / "tang_poems.LICENSE"


def poem_files(package: Path) -> list[Path]:
    files = sorted((package / "dist" / "quantangshi").glob("poet.tang.*.json"), key=lambda p: int(p.name.split(".")[2]))
    if not files:
        raise SystemExit(f"{package} 里没有 dist/quantangshi/poet.tang.*.json / no Tang poems under {package}: "
                         "npm install --prefix build/poetry chinese-poetry@2.0.1")
    return files


def corpus_text(package: Path) -> str:
    poems = []
    for path in poem_files(package):
        for poem in json.loads(path.read_text(encoding="utf-8")):
            poems.append(poem["title"] + "\n" + "\n".join(poem["paragraphs"]) + "\n")
    return "\n".join(poems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the chinese-poetry npm package folder")
    args = parser.parse_args(argv)
    raw = corpus_text(args.package).encode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()
    if (digest, len(raw)) != (TANG.sha256, TANG.size_bytes):
        print(f"sha256 {digest} ({len(raw):,} bytes) != {TANG.sha256} ({TANG.size_bytes:,}): "
              "来源变了，未写入 / the source changed; nothing written", file=sys.stderr)
        return 1
    with tempfile.NamedTemporaryFile(dir=TARGET.parent, delete=False) as tmp:
        tmp.write(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    os.replace(tmp.name, TARGET)
    NOTICE.write_text((args.package / "LICENSE").read_text(encoding="utf-8"), encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {TARGET.stat().st_size:,} bytes (text {len(raw):,} bytes, sha256 {digest[:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
