"""Start civicml's server for the benchmark: ``python serve_civicml.py BUNDLE PORT [BATCH]``.

The token comes from $BENCH_TOKEN and is checked against its salted hash, as in production.
"""

from __future__ import annotations

import os
import sys

from civicml.serve import HashedTokenVerifier, ServeOptions, create_app, hash_token, run_server


def main() -> None:
    bundle, port = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    verifier = HashedTokenVerifier.from_env(hash_token(os.environ["BENCH_TOKEN"], salt="ab" * 16))
    app = create_app(
        bundle,
        verifier=verifier,
        options=ServeOptions(max_batch_size=batch, max_batch_time_ms=1.0),
        decision_log=os.environ.get("BENCH_LOG_DIR", "/tmp/civicml-bench-log"),
        poll_seconds=10,
    )
    run_server(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
