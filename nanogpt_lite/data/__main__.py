"""``python -m nanogpt_lite.data fetch [--from PATH_OR_URL] [--force]``: install tiny Shakespeare."""
from __future__ import annotations

import argparse
import sys

import nanogpt_lite.data as D


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nanogpt_lite.data", description="Get tiny Shakespeare.")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = sub.add_parser("fetch", help="download or copy the data file, verifying its checksum")
    fetch_cmd.add_argument("--from", dest="source", help="a local path or URL (default: $%s or the canonical URL)" % D.URL_ENV)
    fetch_cmd.add_argument("--force", action="store_true", help="fetch even if a verified copy is in place")
    args = parser.parse_args(argv)
    dest = D.data_path()
    if dest.exists() and not args.force and D.sha256_of(dest) == D.SHA256:
        print(f"ok: {dest} is in place and verified")
        return 0
    try:
        D.fetch(args.source, dest)
    except D.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {dest} ({D.SIZE_BYTES:,} bytes, sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
